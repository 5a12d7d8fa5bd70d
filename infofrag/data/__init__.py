"""Ground-truth datasets with disentanglement_lib's `GroundTruthData` interface."""
