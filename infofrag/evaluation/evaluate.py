"""Evaluate saved models with the standard metrics, writing dlib-layout results.

For a model directory D, metric M and representation R ("mean" or "sampled") the results
go to `D/metrics/R/M/results/{json,gin,aggregate}/` exactly as disentanglement_lib's
`evaluate.py` writes them (step name "evaluation"; the aggregate also holds the training
config and results). Existing results are reused unless `overwrite`.
"""

import dataclasses
import os
import shutil
import tempfile
import time

import gin
import numpy as np

from infofrag.data import named_data
from infofrag.utils import paths as infofrag_paths
from infofrag.zoo import model_info
from infofrag.zoo import saved_model


class EvaluationError(RuntimeError):
  """Evaluation of one model failed; the message names the model dir."""


@dataclasses.dataclass
class MetricRun:
  """One (model, metric) evaluation: its results dict and whether it was reused."""
  metric: str
  results: dict
  results_dir: str
  reused: bool


@gin.configurable("evaluation", denylist=["dataset", "representation_function"])
def _run_evaluation_fn(dataset, representation_function, evaluation_fn=gin.REQUIRED,
                       random_seed=gin.REQUIRED, name=""):
  """dlib's `evaluation` configurable: calls evaluation_fn with a seeded RandomState."""
  del name  # Only recorded in the gin config, as in dlib.
  return evaluation_fn(dataset, representation_function,
                       random_state=np.random.RandomState(random_seed))


def metric_results_dir(model_dir, metric, representation="mean", metrics_root=None):
  """`D/metrics/<representation>/<metric>/results` (or under `metrics_root`)."""
  root = metrics_root or os.path.join(model_dir, "metrics")
  return os.path.join(root, representation, metric, "results")


def read_metric_results(results_dir):
  """evaluation_results.json of a finished metric run, or None if absent."""
  import json  # pylint: disable=g-import-not-at-top
  path = os.path.join(results_dir, "json", "evaluation_results.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def resolve_dataset_name(model_dir, requested):
  """dlib's dataset.name = "auto": take the dataset from the model's train config."""
  if requested not in (None, "auto"):
    return requested
  info = model_info.read_model_info(model_dir)
  if not info.dataset:
    raise EvaluationError(f"{model_dir}: its training config does not name a dataset "
                          "(dataset.name); pass --gin_bindings=\"dataset.name='...'\".")
  return info.dataset


def _query_or_none(binding):
  try:
    return gin.query_parameter(binding)
  except ValueError:
    return None


def evaluate_model(model_dir, metric, representation="mean", gin_config_files=(),
                   gin_bindings=(), overwrite=False, metrics_root=None, model=None,
                   batch_size=64):
  """Computes one metric for one model directory and writes dlib-layout results.

  Args:
    model_dir: directory holding `model/tfhub` and `model/results`.
    metric: dlib metric folder name (e.g. "mig", "sap_score", "dci").
    representation: "mean" or "sampled" (dlib's postprocess methods).
    gin_config_files: extra gin files, parsed after `gin_configs/evaluate/<metric>.gin`.
    gin_bindings: extra gin bindings (e.g. "mig.num_train = 1000").
    overwrite: recompute even if results exist.
    metrics_root: write under this folder instead of `D/metrics` (read-only zoos).
    model: an already loaded `LoadedModel` (saves reloading for several metrics).
    batch_size: encoder batch size.

  Returns:
    MetricRun.

  Raises:
    EvaluationError / saved_model.ModelLoadError with the model dir in the message.
  """
  from infofrag.metrics import registry  # pylint: disable=g-import-not-at-top
  from infofrag.evaluation import representation as representation_lib  # pylint: disable=g-import-not-at-top
  from infofrag.utils import results as results_lib  # pylint: disable=g-import-not-at-top

  results_dir = metric_results_dir(model_dir, metric, representation, metrics_root)
  if not overwrite:
    existing = read_metric_results(results_dir)
    if existing is not None:
      return MetricRun(metric, existing, results_dir, reused=True)

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
    dataset_name = resolve_dataset_name(model_dir, _query_or_none("dataset.name"))
    with gin.unlock_config():
      gin.bind_parameter("dataset.name", dataset_name)
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
    _write_results_atomically(results_lib, results_dir, results_dict,
                              os.path.join(model_dir, "model", "results"))
  finally:
    gin.clear_config()
  return MetricRun(metric, read_metric_results(results_dir), results_dir, reused=False)


def _write_results_atomically(results_lib, results_dir, results_dict, train_results_dir):
  """Writes the dlib result tree into a temp folder, then renames it into place."""
  parent = os.path.dirname(results_dir)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".results.", dir=parent)
  try:
    old = train_results_dir if os.path.isdir(train_results_dir) else None
    results_lib.update_result_directory(tmp, "evaluation", results_dict, old)
    if os.path.isdir(results_dir):
      shutil.rmtree(results_dir)
    os.replace(tmp, results_dir)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
