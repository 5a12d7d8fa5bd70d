"""The paper's experiments as reproducible, resumable drivers (`infofrag_reproduce`).

- `agreement`: Bhattacharyya vs Monte Carlo NMI/VI on nine synthetic spaces (section 4.1).
- `hotspots`: composite figure of per-beta structure figures of a beta-VAE ensemble.
"""
