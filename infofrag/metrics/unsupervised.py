"""dlib's unsupervised scores (`unsupervised_metrics.py`): no factors needed.

- gaussian_total_correlation: KL between N(0, C) and N(0, diag C), C the codes'
  covariance (ddof=1), nats.
- gaussian_wasserstein_correlation: squared 2-Wasserstein distance between the same two
  Gaussians as dlib computes it, 2 tr C - 2 tr sqrtm(C * diag(C)[:, None]); `_norm`
  divides by tr C.
- mutual_info_score: mean MI (nats) over ordered pairs of distinct histogram-binned codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np
import numpy.typing as npt
import scipy.linalg

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


def gaussian_total_correlation(cov: np.ndarray) -> float:
  """Total correlation (nats) of a Gaussian with covariance cov [C, C]."""
  return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
  """dlib's Wasserstein dependency score of covariance cov [C, C] (float)."""
  root = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
  # sqrtm may return a complex array with round-off imaginary parts; the score is real.
  return float(np.real(2 * np.trace(cov) - 2 * np.trace(root)))


def mean_pairwise_mutual_info(discrete_codes: np.ndarray) -> float:
  """Mean MI (nats) over ordered pairs of different code columns (float)."""
  num_codes = discrete_codes.shape[1]
  matrix = utils.discrete_mutual_info(discrete_codes, discrete_codes)
  np.fill_diagonal(matrix, 0)
  return float(np.sum(matrix) / (num_codes ** 2 - num_codes))


def scores_from_samples(mus: npt.ArrayLike, discrete_mus: np.ndarray) -> dict[str, float]:
  cov = np.atleast_2d(np.cov(mus, rowvar=False))
  wasserstein = gaussian_wasserstein_correlation(cov)
  return {"gaussian_total_correlation": gaussian_total_correlation(cov),
          "gaussian_wasserstein_correlation": wasserstein,
          "gaussian_wasserstein_correlation_norm": float(wasserstein / np.sum(np.diag(cov))),
          "mutual_info_score": mean_pairwise_mutual_info(discrete_mus)}


def compute_unsupervised(mus: npt.ArrayLike, num_bins: int = 20) -> dict[str, float]:
  """Unsupervised scores of codes mus [num_points, num_codes] (num_codes >= 2, points >= 2).

  Returns
  -------
  dict[str, float]
    dict: gaussian_total_correlation, gaussian_wasserstein_correlation,
    gaussian_wasserstein_correlation_norm, mutual_info_score.
  """
  mus = checks.as_point_matrix(mus, name="mus", dtype=None)
  checks.check_min_columns(mus, name="mus", minimum=2, metric="The unsupervised scores")
  if mus.shape[0] < 2:
    raise ValueError("The unsupervised scores need at least 2 points for a covariance.")
  return scores_from_samples(mus.astype(np.float64), utils.histogram_discretize(mus, num_bins))


@gin.configurable("unsupervised_metrics", denylist=["ground_truth_data",
                                                    "representation_function",
                                                    "random_state", "artifact_dir"])
def evaluate_unsupervised(ground_truth_data: GroundTruthData,
                          representation_function: RepresentationFunction,
                          random_state: np.random.RandomState, artifact_dir: str | None = None,
                          num_train: int = gin.REQUIRED, batch_size: int = 16) -> dict[str, Any]:
  """dlib's `unsupervised_metrics` on a dataset (discretizer from gin)."""
  del artifact_dir
  mus, _ = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  checks.check_min_columns(mus, name="the representation", minimum=2,
                           metric="The unsupervised scores")
  return scores_from_samples(mus.astype(np.float64), utils.make_discretizer(mus))
