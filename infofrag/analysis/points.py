"""The points a model embedded outside infofrag must cover: `infofrag_sample`'s file.

A bundle (`infofrag.zoo.bundle`) holds a model's posteriors on named dataset points. For
its channel analysis those are the run's fingerprint points; for a metric, the points that
metric draws. Metrics draw their points from a seeded RandomState before they look at any
code, so the points are found by running the metric once with stand-in codes while
recording every factor batch the dataset renders (`metric_point_factors`): in the same
order, with the same random stream, as the real run.

The points file (``np.savez_compressed``, readable with pickling off):

- ``observations``: float32 images in [0, 1], NHWC, one per point;
- ``factors``: int64 (n, F); ``indices``: int64 (n,), the mixed-radix point indices to
  copy into the bundle;
- ``metadata``: JSON: format "infofrag-points-v1", dataset, factor_names, fingerprint_size,
  fingerprint_seed, and per metric its gin settings and number of draws.

The fingerprint points come first, in the order the analysis draws them; each metric's new
points follow. Each point appears once.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np

from infofrag.analysis import sample as sample_lib
from infofrag.data import named_data
from infofrag.evaluation import evaluate
from infofrag.metrics import registry
from infofrag.utils import io
from infofrag.utils import paths
from infofrag.zoo import bundle as bundle_lib

POINTS_FORMAT = "infofrag-points-v1"


def metric_point_factors(metric: str, dataset_name: str, *, gin_config_files: Sequence[str] = (),
                         gin_bindings: Sequence[str] = ()) -> tuple[np.ndarray, str]:
  """Every factor batch a metric renders, in order, as one array; and its gin config.

  Parameters
  ----------
  metric : str
      A dlib metric name (e.g. "mig").
  dataset_name : str
  gin_config_files, gin_bindings : sequence of str
      As given to `infofrag_evaluate` (after ``gin_configs/evaluate/<metric>.gin``).

  Returns
  -------
  factors : ndarray of shape (m, F), int64
      With repeats, in drawing order.
  gin_config : str
      The operative config of the recorded run.
  """
  import gin
  registry.resolve_metric_names(metric)
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(
        [paths.gin_config_path("evaluate", f"{metric}.gin")] + list(gin_config_files),
        list(gin_bindings))
    with gin.unlock_config():
      gin.bind_parameter("dataset.name", dataset_name)
    data = named_data.get_named_ground_truth_data()
    batches: list[np.ndarray] = []
    render = data.sample_observations_from_factors

    def recording(factors, random_state):
      batches.append(np.array(factors, dtype=np.int64))
      return render(factors, random_state)
    # Stand-in codes from a stream of their own: the metric's draws do not depend on them.
    codes = np.random.RandomState(2**31 - 1)
    data.sample_observations_from_factors = recording
    try:
      evaluate.run_evaluation_fn(data, lambda observations: codes.normal(
          size=(len(observations), 2)))
    finally:
      del data.sample_observations_from_factors
    config = gin.config_str()
  finally:
    gin.clear_config()
  factors = np.concatenate(batches) if batches else np.zeros((0, data.num_factors), np.int64)
  return factors, config


def write_points(path: str, dataset_name: str, *, fingerprint_size: int, fingerprint_seed: int,
                 metrics: Sequence[str] = (), gin_config_files: Sequence[str] = (),
                 gin_bindings: Sequence[str] = ()) -> dict[str, Any]:
  """Writes the points file for a dataset (see the module docstring); returns its metadata.

  Raises
  ------
  ValueError
      For a dataset whose images are not a function of the factors (point indices would
      not name them), or a sample larger than the dataset.
  """
  data = named_data.get_named_ground_truth_data(dataset_name)
  bundle_lib.check_deterministic(data, dataset_name, where=f"--dataset={dataset_name}")
  sample_lib.check_sample_fits(dataset_name, data, fingerprint_size)
  sizes = data.factors_num_values
  fingerprint_factors, _ = sample_lib.draw_points(data, fingerprint_size, fingerprint_seed)
  parts = [bundle_lib.indices_of_factors(fingerprint_factors, sizes)]
  recorded = {}
  for metric in metrics:
    factors, config = metric_point_factors(metric, dataset_name,
                                           gin_config_files=gin_config_files,
                                           gin_bindings=gin_bindings)
    parts.append(bundle_lib.indices_of_factors(factors, sizes))
    recorded[metric] = {"draws": int(len(factors)), "gin_config": config}
  every = np.concatenate(parts)
  _, first = np.unique(every, return_index=True)
  indices = every[np.sort(first)]  # each point once, first-drawn first
  factors = bundle_lib.factors_of_indices(indices, sizes)
  observations = np.concatenate([
      np.asarray(data.sample_observations_from_factors(factors[start:start + 1024],
                                                       np.random.RandomState(0)), np.float32)
      for start in range(0, len(factors), 1024)])
  metadata = {"format": POINTS_FORMAT, "dataset": dataset_name,
              "factor_names": list(getattr(data, "factor_names", [])),
              "fingerprint_size": fingerprint_size, "fingerprint_seed": fingerprint_seed,
              "points": int(len(indices)), "metrics": recorded}
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with io.atomic_path(path) as tmp:
    with open(tmp, "wb") as f:
      np.savez_compressed(f, observations=observations, factors=factors, indices=indices,
                          metadata=np.array(json.dumps(metadata)))
  return metadata
