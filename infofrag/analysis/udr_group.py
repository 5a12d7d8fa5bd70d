"""UDR over a group of model directories, written in dlib's layout (dlib's `udr/evaluate.py`).

UDR scores models against each other, so it runs once per group of models trained on the
same dataset, not once per model: `evaluate_udr_group(model_dirs, output_dir)` writes
`output_dir/results/{gin,json,aggregate}` (step "evaluation", the first model's training
results carried along, as dlib does). The per-model UDR is `model_scores[i]`, in the order
of `model_dirs`.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Sequence

import gin
import numpy as np

from infofrag.data import named_data
from infofrag.evaluation import evaluate
from infofrag.evaluation import representation as representation_lib
from infofrag.metrics import udr  # registers @udr_sklearn
from infofrag.utils import paths as infofrag_paths
from infofrag.utils import results as results_lib
from infofrag.zoo import saved_model


def evaluate_udr_group(model_dirs: Sequence[str], output_dir: str, *,
                       gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = (),
                       batch_size: int = 64) -> dict:
  """Computes `udr_sklearn` for a group of models and writes dlib's result folder.

  Parameters
  ----------
  model_dirs : sequence of str
      At least two model directories (``D/model/tfhub``), all trained on one dataset and
      with the same number of latents.
  output_dir : str
      Results go to ``output_dir/results`` (replaced if present).
  gin_config_files, gin_bindings : sequence of str
      Parsed after ``gin_configs/evaluate/udr_sklearn.gin`` (e.g.
      "udr_sklearn.correlation_matrix = 'spearman'"). ``dataset.name = "auto"`` takes the
      dataset from the first model's training config, as dlib does.
  batch_size : int
      Encoder batch size.

  Returns
  -------
  dict
      The results as written: `pairwise_disentanglement_scores`, `model_scores` (one per
      model, in order), `raw_correlations` if asked, `elapsed_time`, `uuid`.

  Raises
  ------
  evaluate.EvaluationError, saved_model.ModelLoadError
      A bad configuration, a model that cannot be loaded, or UDR undefined for the group.
  """
  model_dirs = list(model_dirs)
  if len(model_dirs) < 2:
    raise evaluate.EvaluationError(f"UDR compares models: it needs at least 2 model "
                                   f"directories, got {len(model_dirs)}.")
  config_files = [infofrag_paths.gin_config_path("evaluate", "udr_sklearn.gin")]
  gin.clear_config()
  try:
    try:
      gin.parse_config_files_and_bindings(config_files + list(gin_config_files),
                                          list(gin_bindings))
    except (ValueError, KeyError, SyntaxError) as error:
      raise evaluate.EvaluationError(f"bad gin configuration for udr_sklearn: "
                                     f"{str(error).splitlines()[0]}") from error
    requested = gin.query_parameter("dataset.name")
    dataset_name = evaluate.resolve_dataset_name(model_dirs[0], requested)
    with gin.unlock_config():
      gin.bind_parameter("dataset.name", dataset_name)
    start = time.time()
    dataset = named_data.get_named_ground_truth_data()
    functions = []
    for model_dir in model_dirs:
      model = saved_model.load_model(model_dir)
      model.check_observation_shape(dataset.observation_shape)
      functions.append(representation_lib.make_udr_representation_function(model, batch_size))
    try:
      results = dict(evaluate._run_evaluation_fn(dataset, functions))
    except ValueError as error:
      raise evaluate.EvaluationError(f"UDR of {len(model_dirs)} models from {model_dirs[0]}: "
                                     f"{error}") from error
    results["elapsed_time"] = time.time() - start
    results_dir = os.path.join(output_dir, "results")
    if os.path.isdir(results_dir):
      shutil.rmtree(results_dir)
    train_results = os.path.join(model_dirs[0], "model", "results")
    return results_lib.update_result_directory(
        results_dir, "evaluation", results,
        train_results if os.path.isdir(train_results) else None)
  finally:
    gin.clear_config()


# dlib's udr_sklearn defaults (gin_configs/evaluate/udr_sklearn.gin).
UDR_BATCH_SIZE = 10
UDR_COLUMNS = {"lasso": "udr_lasso", "spearman": "udr_spearman"}


def udr_columns(groups: dict[str, list[tuple[str, np.ndarray, np.ndarray]]],
                matrices: dict[str, dict] | None = None) -> dict[str, dict[str, float]]:
  """UDR of every model within its group, on shared points, for the models table.

  Duan et al. score a model by its agreement with the other seeds of its hyperparameter
  setting; here each group of two or more models is scored with dlib's ``udr_sklearn``
  definitions (lasso and Spearman, KL filter 0.01, dlib's batch of 10) on the points the
  analysis already embedded them on (the fingerprint points), so no model is run again.

  Parameters
  ----------
  groups : {group: [(model_dir, mean, logvar)]}
      mean, logvar : ndarray of shape (n, c), the same n points for every model.

  matrices : dict or None
      Filled with {group: {"models": [model_dir, ...], "lasso": (M, M) list,
      "spearman": (M, M) list}}, the pairwise UDR scores (dlib's
      ``pairwise_disentanglement_scores``), for results.json and the report.

  Returns
  -------
  {model_dir: {"udr_lasso": float, "udr_spearman": float}} for models in groups of two or
  more; a group whose UDR is undefined (e.g. no latent above the KL filter) is left out.
  """
  scores: dict[str, dict[str, float]] = {}
  for name, members in groups.items():
    if len(members) < 2:
      continue
    usable = members[0][1].shape[0] - members[0][1].shape[0] % UDR_BATCH_SIZE
    means = [mean[:usable] for _, mean, _ in members]
    logvars = [logvar[:usable] for _, _, logvar in members]
    for correlation, column in UDR_COLUMNS.items():
      try:
        result = udr.udr_from_posteriors(means, logvars, batch_size=UDR_BATCH_SIZE,
                                             random_state=0, correlation_matrix=correlation,
                                             include_raw_correlations=False)
      except ValueError:  # undefined for this group (every latent below the KL filter)
        continue
      for (model_dir, _, _), score in zip(members, result["model_scores"]):
        scores.setdefault(model_dir, {})[column] = float(score)
      if matrices is not None:
        pairwise = np.asarray(result["pairwise_disentanglement_scores"], dtype=np.float64)
        group = matrices.setdefault(name, {"models": [m for m, _, _ in members]})
        group[correlation] = pairwise.reshape(len(members), len(members)).tolist()
  return scores
