"""TensorBoard HParams summaries of an evaluated zoo: one run per model.

Each model becomes a run under `OUT/tensorboard/<dataset>/<model>` with its hyperparameters
(method, hyperparameter name and value, seed, dataset) and its numbers from the models
table (standard metrics, total information, active channels, the fraction of informative
channels in hotspots), so a zoo can be browsed in TensorBoard's HParams dashboard.
Uses TensorBoard's `hparams` plugin API; TensorFlow writes the event files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from typing import Any, Mapping, Sequence

from infofrag.reports import model_scatter
from infofrag.utils import layout

HOTSPOT_FRACTION = "fraction_in_hotspots"
SKIPPED_KEYS = {"model", "dataset", "method", "hyperparameter", "value", "seed", "metrics_by",
                "metrics_error", "info_bits_per_channel", "best_factor_per_channel",
                "hotspot_per_channel"}


def _number(value: Any) -> float | None:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return None
  return float(value) if math.isfinite(value) else None


def model_metrics(model: Mapping[str, Any]) -> dict[str, float]:
  """{name: value} of every finite number of one models-table row, plus the fraction of its
  informative channels in hotspots."""
  metrics = {key: _number(value) for key, value in model.items() if key not in SKIPPED_KEYS}
  metrics[HOTSPOT_FRACTION] = model_scatter.hotspot_fraction(model.get("hotspot_per_channel"))
  return {key: value for key, value in metrics.items() if value is not None}


def model_hparams(model: Mapping[str, Any]) -> dict[str, Any]:
  """The hyperparameters of one models-table row (HParams accepts bool, int, float, str)."""
  value = model.get("value")
  return {"dataset": str(model.get("dataset")), "method": str(model.get("method")),
          "hyperparameter": str(model.get("hyperparameter") or ""),
          "value": value if isinstance(value, (int, float, str, bool)) else str(value),
          "seed": model.get("seed") if isinstance(model.get("seed"), int) else -1}


def _run_name(model: Mapping[str, Any]) -> str:
  """"<dataset>/<model>", each part reduced to a safe file name."""
  return "/".join(layout.slug(model.get(key)) for key in ("dataset", "model"))


def write_hparams(output_dir: str, *, models: Sequence[Mapping[str, Any]] | None = None) -> str:
  """Writes `output_dir/tensorboard` (replacing an earlier one) and returns its path.

  Parameters
  ----------
  output_dir : str
      An ensemble evaluation's output folder.
  models : sequence of dict, optional
      Models-table rows; default: the "models" of `output_dir/results.json`.

  Returns
  -------
  str, the log directory to pass to `tensorboard --logdir`.

  Raises
  ------
  FileNotFoundError
      If `models` is not given and results.json is missing.
  ImportError
      If the tensorboard package is not installed.
  """
  from tensorboard.plugins.hparams import api as hp
  import tensorflow as tf
  if models is None:
    path = layout.results_path(output_dir)
    if not os.path.exists(path):
      raise FileNotFoundError(f"{path}: no results.json; run infofrag_evaluate --output_dir "
                              "there first.")
    with open(path) as f:
      models = json.load(f).get("models", [])
  logdir = layout.tensorboard_dir(output_dir)
  building = logdir + ".partial"
  shutil.rmtree(building, ignore_errors=True)
  metric_names: list[str] = []
  for model in models:
    metric_names += [m for m in model_metrics(model) if m not in metric_names]
  values = [model_hparams(m)["value"] for m in models]
  numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
  hparams = [hp.HParam("dataset"), hp.HParam("method"), hp.HParam("hyperparameter"),
             hp.HParam("value", hp.RealInterval(float(min(values)), float(max(values)))
                       if numeric and values else None),
             hp.HParam("seed")]
  with tf.summary.create_file_writer(building).as_default():
    hp.hparams_config(hparams=hparams, metrics=[hp.Metric(name) for name in metric_names])
  for model in models:
    with tf.summary.create_file_writer(os.path.join(building, _run_name(model))).as_default():
      hp.hparams(model_hparams(model), trial_id=_run_name(model))
      for name, value in model_metrics(model).items():
        tf.summary.scalar(name, value, step=0)
  shutil.rmtree(logdir, ignore_errors=True)
  os.replace(building, logdir)
  return logdir
