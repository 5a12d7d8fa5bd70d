"""infofrag.metrics: disentanglement_lib's standard metrics, numbers identical to dlib's.

Array-level functions take one row per data point: representations [num_points, num_codes]
and factors [num_points, num_factors]. Dataset-level functions have dlib's signature
`(ground_truth_data, representation_function, random_state, **params) -> dict` and are
gin-configurable under dlib's names (`mig`, `sap_score`, `dci`, ...). `registry.METRICS`
maps dlib's metric folder names to them. No TensorFlow imports here.
"""

from __future__ import annotations
