"""infofrag.fusion: ensemble fusion ("boosting") of weak learners (the paper's section on ensemble fusion).

`fuse` optimises free Gaussian posteriors of the N fingerprint points in a
d-dimensional space so that their fingerprint agrees, on average, with M member
fingerprints (objectives info / vi / nmi); `continuity` scores an embedding of
points ordered along a closed curve; `fuse_ensemble` fuses an ensemble and
reports fused vs member information and NMI with members and factors. The
paper's SO(2) experiment, which trains weak learners, is
`infofrag.experiments.so2_fusion` (CLI `infofrag_reproduce fusion`); nothing here
trains models. TensorFlow is only imported when `fuse` runs.
"""

from __future__ import annotations

from infofrag.fusion.curve import adjacent_distances
from infofrag.fusion.curve import continuity
from infofrag.fusion.ensemble import fuse_ensemble
from infofrag.fusion.objectives import member_similarities
from infofrag.fusion.optimize import fuse
from infofrag.fusion.optimize import FusionResult
from infofrag.fusion.optimize import initial_posteriors

__all__ = ["adjacent_distances", "continuity", "fuse_ensemble", "member_similarities", "fuse",
           "FusionResult", "initial_posteriors"]
