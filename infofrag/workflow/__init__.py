"""disentanglement_lib's unsupervised workflow end to end: dlib_reproduce by model number
(the steps themselves live in training, postprocessing, evaluation and visualize)."""

from __future__ import annotations

