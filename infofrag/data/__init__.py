"""Ground-truth datasets with disentanglement_lib's `GroundTruthData` interface."""

from __future__ import annotations

