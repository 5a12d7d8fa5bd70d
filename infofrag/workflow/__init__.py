"""disentanglement_lib's unsupervised workflow, step by step: folders, reproduce by model number."""
