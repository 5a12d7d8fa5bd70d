"""Evaluate saved models with the standard metrics, writing dlib-layout results.

For a model directory D, metric M and representation R ("mean" or "sampled") the results
go to `D/metrics/R/M/results/{json,gin,aggregate}/` exactly as disentanglement_lib's
`evaluate.py` writes them (step name "evaluation"; the aggregate also holds the training
config and results).

Reuse rules. infofrag records a result key next to its results (`json/infofrag_key.json`,
and its digest as `infofrag_key` in the results JSON): the metric's effective gin config,
the dataset, the representation, a digest of the model's weights and the infofrag
version. A saved result is reused only when its key equals the request's; otherwise it is
recomputed, with a notice naming what changed. Results that infofrag did not write
(dlib's own, in a published zoo) are reused when their recorded gin config agrees with
every binding of the request, and are never overwritten: a different request is computed
under the output folder instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Sequence

import gin
import numpy as np

from infofrag.data import named_data
from infofrag.evaluation import representation as representation_lib
from infofrag.metrics import registry
from infofrag.utils import io
from infofrag.utils import paths as infofrag_paths
from infofrag.utils import result_keys
from infofrag.utils import results as results_lib
from infofrag.zoo import model_info
from infofrag.zoo import saved_model


KEY_FILE = "infofrag_key.json"


class EvaluationError(RuntimeError):
  """Evaluation of one model failed; the message names the model dir."""


class ForeignResultsError(EvaluationError):
  """The model's folder holds results infofrag did not write, for a different request."""


@dataclasses.dataclass
class MetricRun:
  """One (model, metric) evaluation: its results dict, whether it was reused and who
  computed it ("infofrag" or "dlib")."""
  metric: str
  results: dict
  results_dir: str
  reused: bool
  source: str = "infofrag"


@gin.configurable("evaluation", denylist=["dataset", "representation_function"])
def _run_evaluation_fn(dataset, representation_function, evaluation_fn=gin.REQUIRED,
                       random_seed=gin.REQUIRED, name=""):
  """dlib's `evaluation` configurable: calls evaluation_fn with a seeded RandomState."""
  del name  # Only recorded in the gin config, as in dlib.
  return evaluation_fn(dataset, representation_function,
                       random_state=np.random.RandomState(random_seed))


def run_evaluation_fn(dataset: Any, representation_function: Callable[[np.ndarray], np.ndarray]
                      ) -> dict:
  """Runs the gin-bound metric (``evaluation.evaluation_fn``) on a dataset and a
  representation function, with its seeded RandomState; returns the metric's results."""
  return _run_evaluation_fn(dataset, representation_function)


def metric_results_dir(model_dir: str, metric: str, representation: str = "mean",
                       metrics_root: str | None = None) -> str:
  """`D/metrics/<representation>/<metric>/results` (or under `metrics_root`)."""
  root = metrics_root or os.path.join(model_dir, "metrics")
  return os.path.join(root, representation, metric, "results")


def _read_json_or_set_aside(results_dir, name):
  """The JSON object `results_dir/json/<name>`; None if absent. When the file is corrupt
  the whole result folder is renamed to `<results_dir>.corrupt` with a warning (and None
  returned), so the result is recomputed and the damaged one kept for inspection."""
  path = os.path.join(results_dir, "json", name)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      value = json.load(f)
    if not isinstance(value, dict):
      raise ValueError("not a JSON object")
    return value
  except (ValueError, UnicodeDecodeError) as error:
    aside = results_dir.rstrip(os.sep) + ".corrupt"
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(results_dir, aside)
    print(f"warning: {path} is corrupt ({str(error).splitlines()[0]}); its results folder is "
          f"set aside as {aside} and recomputed.", file=sys.stderr)
    return None


def read_metric_results(results_dir: str) -> dict | None:
  """evaluation_results.json of a finished metric run, or None if absent or corrupt."""
  return _read_json_or_set_aside(results_dir, "evaluation_results.json")


def read_result_key(results_dir: str) -> dict | None:
  """The infofrag result key stored with a result, or None (results not written by infofrag)."""
  return _read_json_or_set_aside(results_dir, KEY_FILE)


def _normalised(value):
  return str(value).strip().replace('"', "'")


def foreign_results_match(results_dir: str, requested_gin: str) -> bool:
  """True when results without an infofrag key (dlib's) recorded every requested binding
  with the same value in their `gin/evaluation.gin`."""
  path = os.path.join(results_dir, "gin", "evaluation.gin")
  if not os.path.exists(path):
    return False
  with open(path) as f:
    recorded = {k.strip(): _normalised(v) for k, v in results_lib.gin_dict(f.read()).items()}
  wanted = {k.strip(): _normalised(v) for k, v in results_lib.gin_dict(requested_gin).items()}
  return all(recorded.get(name) == value for name, value in wanted.items())


def resolve_dataset_name(model_dir: str, requested: str | None) -> str:
  """dlib's dataset.name = "auto": take the dataset from the model's train config."""
  if requested not in (None, "auto"):
    return requested
  info = model_info.read_model_info(model_dir)
  if not info.dataset:
    raise EvaluationError(f"{model_dir}: its training config does not name a dataset "
                          "(dataset.name); pass --gin_bindings=\"dataset.name='...'\".")
  return info.dataset


def _sizes_text(metric):
  """The metric's sample sizes as bound in gin, e.g. "num_train=10,000, num_test=5,000"."""
  sizes = []
  for name in ("num_train", "num_test", "num_eval", "num_variance_estimate"):
    value = _query_or_none(f"{metric}.{name}")
    if isinstance(value, int):
      sizes.append(f"{name}={value:,}")
  return ", ".join(sizes) or "dlib's default sizes"


def _query_or_none(binding):
  try:
    return gin.query_parameter(binding)
  except ValueError:
    return None


def evaluate_model(model_dir: str, metric: str, *, representation: str = "mean",
                   gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = (),
                   overwrite: bool = False, metrics_root: str | None = None,
                   model: saved_model.LoadedModel | None = None, batch_size: int = 64,
                   no_recompute: bool = False, fallback_root: str | None = None,
                   dataset_name: str | None = None) -> MetricRun:
  """Computes one metric for one model directory and writes dlib-layout results.

  Parameters
  ----------
  model_dir : str
      Directory holding ``model/tfhub`` and ``model/results``.
  metric : str
      dlib metric folder name (e.g. "mig", "sap_score", "dci").
  representation : {"mean", "sampled"}
      dlib's postprocess method.
  gin_config_files, gin_bindings : sequence of str
      Extra gin files (parsed after ``gin_configs/evaluate/<metric>.gin``) and bindings
      (e.g. "mig.num_train = 1000").
  overwrite : bool
      Recompute even if results for the same request exist (never applies to results
      infofrag did not write).
  metrics_root : str or None
      Write under this folder instead of ``D/metrics`` (read-only zoos).
  model : LoadedModel or None
      An already loaded model (saves reloading for several metrics).
  batch_size : int
      Encoder batch size.
  no_recompute : bool
      Refuse (EvaluationError) instead of recomputing a stale result.
  fallback_root : str or None
      Where to compute when ``D/metrics`` holds dlib's results for a different request
      (None: that is an error).
  dataset_name : str or None
      The model's dataset when already known; a ``dataset.name`` binding other than
      "auto" takes precedence.

  Returns
  -------
  MetricRun

  Raises
  ------
  EvaluationError, saved_model.ModelLoadError
      With the model directory in the message.
  """

  results_dir = metric_results_dir(model_dir, metric, representation, metrics_root)
  registry.resolve_metric_names(metric)  # Validates the name with a clear message.
  config_files = [infofrag_paths.gin_config_path("evaluate", f"{metric}.gin")]
  config_files += list(gin_config_files)
  gin.clear_config()
  try:
    try:
      gin.parse_config_files_and_bindings(config_files, list(gin_bindings))
    except (ValueError, KeyError, SyntaxError) as error:
      raise EvaluationError(f"{model_dir}: bad gin configuration for metric {metric}: "
                            f"{str(error).splitlines()[0]}") from error
    requested = _query_or_none("dataset.name")
    if requested in (None, "auto") and dataset_name:
      requested = dataset_name
    dataset_name = resolve_dataset_name(model_dir, requested)
    with gin.unlock_config():
      gin.bind_parameter("dataset.name", dataset_name)
    requested_gin = gin.config_str()
    key = result_keys.make_key(metric=metric, representation=representation,
                               dataset=dataset_name, gin=requested_gin,
                               weights=model_info.weights_digest(model_dir))
    existing = read_metric_results(results_dir)
    if existing is not None:
      has_key = os.path.exists(os.path.join(results_dir, "json", KEY_FILE))
      stored = read_result_key(results_dir)
      if has_key and stored is None:  # a corrupt key: set aside with the results
        existing = None
      elif stored is None:  # Not written by infofrag: the user's data, never overwritten.
        if foreign_results_match(results_dir, requested_gin):
          return MetricRun(metric, existing, results_dir, reused=True, source="dlib")
        if fallback_root is None:
          raise ForeignResultsError(
              f"{model_dir}: {results_dir} holds {metric} results that infofrag did not write, "
              "for different settings; pass --output_dir so infofrag computes its own there.")
        results_dir = metric_results_dir(model_dir, metric, representation, fallback_root)
        existing = read_metric_results(results_dir)
        stored = read_result_key(results_dir) if existing is not None else None
      if existing is not None and stored == key and not overwrite:
        return MetricRun(metric, existing, results_dir, reused=True)
      if existing is not None and stored != key:
        changed = ", ".join(result_keys.changed_parts(stored or {}, key)) or "its key"
        if no_recompute:
          raise EvaluationError(f"{model_dir}: the saved {metric} result was computed for a "
                                f"different request (changed: {changed}) and --no_recompute "
                                "was given.")
        print(f"{model_dir}: recomputing {metric} (saved result differs in: {changed})",
              file=sys.stderr)
    print(f"{model_dir}: computing {metric} on {dataset_name} ({_sizes_text(metric)})",
          file=sys.stderr, flush=True)
    start = time.time()
    dataset = named_data.get_named_ground_truth_data()
    if model is None:
      model = saved_model.load_model(model_dir)
    model.check_observation_shape(dataset.observation_shape)
    seed = _query_or_none("evaluation.random_seed") or 0
    function = representation_lib.make_representation_function(
        model, representation, random_seed=seed, batch_size=batch_size)
    try:
      results_dict = _run_evaluation_fn(dataset, function)
    except saved_model.ModelLoadError:
      raise
    except ValueError as error:
      raise EvaluationError(f"{model_dir}: metric {metric} failed: {error}") from error
    results_dict = dict(results_dict)
    results_dict["elapsed_time"] = time.time() - start
    results_dict["infofrag_key"] = result_keys.key_digest(key)
    _write_results_atomically(results_lib, results_dir, results_dict,
                              os.path.join(model_dir, "model", "results"), key)
  finally:
    gin.clear_config()
  return MetricRun(metric, read_metric_results(results_dir), results_dir, reused=False)


def _write_results_atomically(results_lib, results_dir, results_dict, train_results_dir, key):
  """Writes the dlib result tree (and the infofrag key) into a temp folder, then renames it
  into place."""
  parent = os.path.dirname(results_dir)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".results.", dir=parent)
  try:
    io.follow_umask(tmp, directory=True)
    old = train_results_dir if os.path.isdir(train_results_dir) else None
    results_lib.update_result_directory(tmp, "evaluation", results_dict, old)
    results_lib.save_dict(os.path.join(tmp, "json", KEY_FILE), key)
    if os.path.isdir(results_dir):
      shutil.rmtree(results_dir)
    os.replace(tmp, results_dir)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
