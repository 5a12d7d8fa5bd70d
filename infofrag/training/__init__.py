"""infofrag.training: TF2 training of dlib's VAEs with gin.

train        train_with_gin / the `model` configurable: loop, checkpoints, export, results
data_stream  prefetching batch generator with checkpointable RandomState
study        dlib's unsupervised_study_v1 sweep as data (model numbering, bindings)
sweep        many models into ROOT/<n>/, one process each
"""

from __future__ import annotations

