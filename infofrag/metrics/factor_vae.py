"""FactorVAE score (Kim & Mnih 2018), as in dlib's `evaluation/metrics/factor_vae.py`.

Codes are scaled by their global variance; each training point fixes one random factor
over a batch and votes for (that factor, the code with the smallest scaled variance). A
majority-vote classifier maps codes to factors; the score is its accuracy on new votes.

Two dlib quirks are kept so numbers match: the argmin is taken over the active codes
but recorded at that position among all codes, and `num_active_dims` is the number of
codes (dlib stores the mask's length). The true count is `num_active_codes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


@gin.configurable("prune_dims", denylist=["variances"])
def prune_dims(variances: np.ndarray, threshold: float = 0.0) -> np.ndarray:
  """Active-code mask [num_codes] bool: std >= threshold (codes not collapsed to prior)."""
  return np.sqrt(variances) >= threshold


def compute_variances(ground_truth_data: GroundTruthData,
                      representation_function: RepresentationFunction, num_points: int,
                      random_state: np.random.RandomState,
                      eval_batch_size: int = 64) -> np.ndarray:
  """Variance (ddof=1) of each code over num_points sampled observations: [num_codes]."""
  observations = ground_truth_data.sample_observations(num_points, random_state)
  codes = utils.obtain_representation(observations, representation_function, eval_batch_size)
  return np.var(codes, axis=0, ddof=1)


def _training_sample(ground_truth_data, representation_function, batch_size, random_state,
                     global_variances, active_dims):
  """(factor index, voted code index) from one batch with a fixed factor."""
  factor_index = random_state.randint(ground_truth_data.num_factors)
  factors = ground_truth_data.sample_factors(batch_size, random_state)
  factors[:, factor_index] = factors[0, factor_index]
  observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
  codes = utils.represent(representation_function, observations)
  local_variances = np.var(codes, axis=0, ddof=1)
  return factor_index, np.argmin(local_variances[active_dims] / global_variances[active_dims])


def generate_votes(ground_truth_data: GroundTruthData,
                   representation_function: RepresentationFunction, batch_size: int,
                   num_points: int, random_state: np.random.RandomState,
                   global_variances: np.ndarray, active_dims: np.ndarray) -> np.ndarray:
  """Vote counts [num_factors, num_codes] int64 from num_points training samples."""
  votes = np.zeros((ground_truth_data.num_factors, global_variances.shape[0]), dtype=np.int64)
  for _ in range(num_points):  # Sequential: each sample continues the random stream.
    factor_index, code_index = _training_sample(
        ground_truth_data, representation_function, batch_size, random_state,
        global_variances, active_dims)
    votes[factor_index, code_index] += 1
  return votes


def majority_vote_accuracy(votes: np.ndarray, classifier: Any) -> float:
  """Fraction of votes for which classifier[code] is the voting factor (float)."""
  return float(np.sum(votes[classifier, np.arange(votes.shape[1])]) / np.sum(votes))


@gin.configurable("factor_vae_score", denylist=["ground_truth_data", "representation_function",
                                                "random_state", "artifact_dir"])
def evaluate_factor_vae(ground_truth_data: GroundTruthData,
                        representation_function: RepresentationFunction,
                        random_state: np.random.RandomState, artifact_dir: str | None = None,
                        batch_size: int = gin.REQUIRED, num_train: int = gin.REQUIRED,
                        num_eval: int = gin.REQUIRED,
                        num_variance_estimate: int = gin.REQUIRED) -> dict[str, Any]:
  """dlib's `factor_vae_score`: train/eval accuracy of the majority-vote classifier."""
  del artifact_dir
  batch_size = checks.check_positive_int(batch_size, name="factor_vae_score.batch_size")
  for value, name in ((num_train, "num_train"), (num_eval, "num_eval"),
                      (num_variance_estimate, "num_variance_estimate")):
    checks.check_positive_int(value, name=f"factor_vae_score.{name}")
  if batch_size < 2 or num_variance_estimate < 2:
    raise ValueError("factor_vae_score.batch_size and num_variance_estimate must be >= 2 "
                     "(variances need two points).")
  global_variances = compute_variances(ground_truth_data, representation_function,
                                       num_variance_estimate, random_state)
  active_dims = prune_dims(global_variances)
  if not active_dims.any():
    return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0,
            "num_active_codes": 0}
  training_votes = generate_votes(ground_truth_data, representation_function, batch_size,
                                  num_train, random_state, global_variances, active_dims)
  classifier = np.argmax(training_votes, axis=0)
  train_accuracy = majority_vote_accuracy(training_votes, classifier)
  eval_votes = generate_votes(ground_truth_data, representation_function, batch_size,
                              num_eval, random_state, global_variances, active_dims)
  return {"train_accuracy": train_accuracy,
          "eval_accuracy": majority_vote_accuracy(eval_votes, classifier),
          "num_active_dims": int(len(active_dims)),
          "num_active_codes": int(np.sum(active_dims))}
