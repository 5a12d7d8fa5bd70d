"""The paper's experiments as reproducible, resumable drivers (`infofrag_reproduce`).

- `agreement`: Bhattacharyya vs Monte Carlo NMI/VI on nine synthetic spaces (section 4.1).
- `hotspots`: composite figure of per-beta structure figures of a beta-VAE ensemble.
- `so2_fusion`: the SO(2) experiment: weak 1-D circle learners (a training sweep) fused
  in 2-D; continuity of the fused space against ensemble size.
"""

from __future__ import annotations

