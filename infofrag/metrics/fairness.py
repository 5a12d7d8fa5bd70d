"""Unfairness of downstream classifiers (Locatello et al. 2019, "On the Fairness of
Disentangled Representations", section 4), as in dlib's `evaluation/metrics/fairness.py`.

One classifier per target factor i (gin `predictor.predictor_fn`) is fit on all codes.
For every other, sensitive factor j, a set of `num_test_points_per_class` factor vectors
is drawn once; j is set to each of its values c in turn (an intervention) and the
classifier's predictions of i on the re-rendered observations are counted. Unfairness
(i, j) is the total variation between each intervention's prediction distribution and
the pooled one: its size-weighted mean (`mean_fairness`) and its maximum over the values
c (`max_fairness`). The paper's score is `mean_fairness:mean_pred:mean_sens`.

Result keys (dlib's), for prefix P in {mean_fairness, max_fairness}:
`P:pred{i}:sens{j}` for i != j; `P:pred{i}:mean_sens` / `P:pred{i}:max_sens` (over j);
`P:sens{j}:mean_pred` / `P:sens{j}:max_pred` (over i); and the eight summaries
`P:{mean,max}_sens:{mean,max}_pred` (the statistic over i first, then over j) and
`P:{mean,max}_pred:{mean,max}_sens` (over j first, then over i).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np
import numpy.typing as npt

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


def inter_group_fairness(counts: npt.ArrayLike) -> tuple[float, float]:
  """Total variation of each sensitive group's predictions from the pooled predictions.

  The distributions are float32, as in dlib (the values depend on it at ~1e-8).

  Parameters
  ----------
  counts : array_like of shape (num_predicted_classes, num_sensitive_values)
    Non-negative integer counts: column c counts the predictions made when the
    sensitive factor was set to c. Every column must have a positive total.

  Returns
  -------
  tuple[float, float]
    (mean of the per-group total variations weighted by group size, their maximum).
  """
  counts = np.asarray(counts)
  pooled = np.sum(counts, axis=1, dtype=np.float32)
  pooled /= pooled.sum()
  group_sizes = np.sum(counts, axis=0)
  if np.any(group_sizes <= 0):
    raise ValueError("inter_group_fairness needs at least one prediction per sensitive value.")
  per_group = counts.astype(np.float32)
  per_group /= group_sizes[None, :]
  total_variation = np.sum(np.abs(per_group - pooled[:, None]), axis=0) / 2.0
  weighted = total_variation * group_sizes / group_sizes.sum()
  return float(np.sum(weighted)), float(np.max(total_variation))


def _off_diagonal_rows(matrix: np.ndarray) -> np.ndarray:
  """[F, F] -> [F, F - 1]: row i holds matrix[i, j] for j != i, in order."""
  size = matrix.shape[0]
  return matrix[~np.eye(size, dtype=bool)].reshape(size, size - 1)


def fairness_scores(matrix: npt.ArrayLike, prefix: str) -> dict[str, float]:
  """dlib's summary keys of an unfairness matrix, in dlib's order.

  Parameters
  ----------
  matrix : array_like of shape (num_factors, num_factors)
    matrix[i, j]: unfairness of the classifier of factor i with respect to factor j
    (the diagonal is ignored); num_factors >= 2.
  prefix : str
    "mean_fairness" or "max_fairness" (any string is used as given).

  Returns
  -------
  dict[str, float]
    The keys listed in the module docstring.
  """
  matrix = np.asarray(matrix, dtype=np.float64)
  num_factors = matrix.shape[0]
  scores = {f"{prefix}:pred{i}:sens{j}": float(matrix[i, j])
            for i in range(num_factors) for j in range(num_factors) if i != j}
  by_target = _off_diagonal_rows(matrix)  # row i: sensitive factors j != i
  by_sensitive = _off_diagonal_rows(matrix.T)  # row j: target factors i != j
  target_means, target_maxes = np.mean(by_target, axis=1), np.max(by_target, axis=1)
  sensitive_means, sensitive_maxes = np.mean(by_sensitive, axis=1), np.max(by_sensitive, axis=1)
  for i in range(num_factors):
    scores[f"{prefix}:pred{i}:mean_sens"] = float(target_means[i])
    scores[f"{prefix}:pred{i}:max_sens"] = float(target_maxes[i])
  for j in range(num_factors):
    scores[f"{prefix}:sens{j}:mean_pred"] = float(sensitive_means[j])
    scores[f"{prefix}:sens{j}:max_pred"] = float(sensitive_maxes[j])
  for outer, reduce in (("mean", np.mean), ("max", np.max)):
    scores[f"{prefix}:{outer}_sens:mean_pred"] = float(reduce(sensitive_means))
    scores[f"{prefix}:{outer}_sens:max_pred"] = float(reduce(sensitive_maxes))
  for outer, reduce in (("mean", np.mean), ("max", np.max)):
    scores[f"{prefix}:{outer}_pred:mean_sens"] = float(reduce(target_means))
    scores[f"{prefix}:{outer}_pred:max_sens"] = float(reduce(target_maxes))
  return scores


def intervention_counts(ground_truth_data: GroundTruthData,
                        representation_function: RepresentationFunction, model: Any, *,
                        target: int, sensitive: int, num_points: int,
                        random_state: np.random.RandomState,
                        batch_size: int) -> np.ndarray:
  """Predictions of `target` under each intervention on `sensitive`.

  One set of num_points factor vectors is drawn; for each value c of the sensitive
  factor, that factor is set to c, observations are drawn for the vectors and encoded,
  and the fitted classifier `model` predicts the target factor.

  Returns
  -------
  np.ndarray
    int64 [values of target, values of sensitive]: column c counts the predictions.
  """
  sizes = ground_truth_data.factors_num_values
  factors = ground_truth_data.sample_factors(num_points, random_state)
  counts = np.zeros((sizes[target], sizes[sensitive]), dtype=np.int64)
  for value in range(sizes[sensitive]):
    intervened = np.copy(factors)
    intervened[:, sensitive] = value
    observations = ground_truth_data.sample_observations_from_factors(intervened, random_state)
    codes = utils.obtain_representation(observations, representation_function, batch_size)
    counts[:, value] = np.bincount(model.predict(codes), minlength=sizes[target])
  return counts


@gin.configurable("fairness", denylist=["ground_truth_data", "representation_function",
                                        "random_state", "artifact_dir"])
def evaluate_fairness(ground_truth_data: GroundTruthData,
                      representation_function: RepresentationFunction,
                      random_state: np.random.RandomState, artifact_dir: str | None = None, *,
                      num_train: int = gin.REQUIRED,
                      num_test_points_per_class: int = gin.REQUIRED,
                      batch_size: int = 16) -> dict[str, float]:
  """dlib's `fairness` on a dataset (classifier from gin `predictor.predictor_fn`).

  Draws the training sample, then for each target factor i (in order) fits its
  classifier and, for each sensitive factor j != i (in order), draws the intervention
  sets from random_state, as dlib does.

  Returns
  -------
  dict[str, float]
    `fairness_scores` of the mean then of the max unfairness matrix.
  """
  del artifact_dir
  num_train = checks.check_positive_int(num_train, name="fairness.num_train")
  num_points = checks.check_positive_int(num_test_points_per_class,
                                         name="fairness.num_test_points_per_class")
  batch_size = checks.check_positive_int(batch_size, name="fairness.batch_size")
  num_factors = ground_truth_data.num_factors
  if num_factors < 2:
    raise ValueError("fairness needs at least 2 factors (a target and a sensitive one).")
  mus_train, ys_train = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  predictor_fn = utils.make_predictor_fn()
  mean_unfairness = np.zeros((num_factors, num_factors))
  max_unfairness = np.zeros((num_factors, num_factors))
  for target in range(num_factors):
    model = predictor_fn()
    model.fit(mus_train, ys_train[:, target])
    for sensitive in range(num_factors):
      if sensitive == target:
        continue
      counts = intervention_counts(
          ground_truth_data, representation_function, model, target=target,
          sensitive=sensitive, num_points=num_points, random_state=random_state,
          batch_size=batch_size)
      mean_unfairness[target, sensitive], max_unfairness[target, sensitive] = (
          inter_group_fairness(counts))
  return {**fairness_scores(mean_unfairness, "mean_fairness"),
          **fairness_scores(max_unfairness, "max_fairness")}
