"""Interventional Robustness Score (Suter et al. 2019), as in dlib's `irs.py`.

For each factor i and each of its (discretised) values, the diff_quantile-quantile of
|z - E[z | g_i]| within that group, averaged over the values, normalised by each code's
largest deviation from its mean; IRS per code = 1 - min over factors; the score is the
average over active codes weighted by their largest deviation.

As in dlib the *factors* are passed through the discretizer (20 histogram bins), and
`num_active_dims` is dlib's number (the sum of the active codes' values, kept for
parity); `num_active_codes` is the count of non-constant codes.
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


def active_code_mask(codes: np.ndarray) -> np.ndarray:
  """Non-constant codes: [num_points, num_codes] -> [num_codes] bool."""
  return codes.var(axis=0) > 0.0


def irs_matrix(factors: np.ndarray, codes: np.ndarray,
               diff_quantile: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
  """IRS terms (dlib's `scalable_disentanglement_score`).

  Parameters
  ----------
  factors : ndarray of shape (num_points, num_factors)
    Discrete labels.
  codes : ndarray of shape (num_points, num_codes)
    Active codes.
  diff_quantile : float
    quantile of the within-group deviations (1.0: the paper's max).

  Returns
  -------
  tuple[np.ndarray, np.ndarray]
    (irs [num_codes, num_factors], max_deviations [num_codes]).
  """
  max_deviations = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
  cum_deviations = np.zeros((codes.shape[1], factors.shape[1]))
  for i in range(factors.shape[1]):
    values = np.unique(factors[:, i])
    for value in values:  # one group per factor value, all codes at once
      group = codes[factors[:, i] == value]
      deviations = np.abs(group - group.mean(axis=0))
      cum_deviations[:, i] += np.percentile(deviations, q=diff_quantile * 100, axis=0)
    cum_deviations[:, i] /= values.size
  return 1.0 - cum_deviations / max_deviations[:, None], max_deviations


def irs_from_samples(codes: np.ndarray, discrete_factors: np.ndarray,
                     diff_quantile: float) -> dict[str, Any]:
  active = active_code_mask(codes)
  active_codes = codes[:, active]
  if not active_codes.any():
    score = 0.0
  else:
    matrix, max_deviations = irs_matrix(discrete_factors, active_codes, diff_quantile)
    per_code = matrix.max(axis=1)
    if np.sum(max_deviations) > 0.0:
      score = np.average(per_code, weights=max_deviations)
    else:
      score = np.mean(per_code)
  return {"IRS": float(score), "num_active_dims": float(np.sum(active_codes)),
          "num_active_codes": int(np.sum(active))}


def compute_irs(mus: npt.ArrayLike, ys: npt.ArrayLike, diff_quantile: float = 0.99,
                num_bins: int = 20) -> dict[str, Any]:
  """IRS of a representation (row per point).

  Parameters
  ----------
  mus : array_like of shape (num_points, num_codes)
    Codes.
  ys : array_like of shape (num_points, num_factors)
    Factors (binned into num_bins as in dlib).
  diff_quantile : float
    in (0, 1].
  num_bins : int
    histogram bins applied to each factor.

  Returns
  -------
  dict[str, Any]
    dict: IRS, num_active_dims (dlib's value), num_active_codes.
  """
  mus = checks.as_point_matrix(mus, name="mus")
  ys = checks.as_point_matrix(ys, name="ys", dtype=None)
  checks.check_same_points(mus, "mus", ys, "ys")
  if not 0.0 < diff_quantile <= 1.0:
    raise ValueError(f"diff_quantile must be in (0, 1], got {diff_quantile}.")
  return irs_from_samples(mus, utils.histogram_discretize(ys, num_bins), diff_quantile)


@gin.configurable("irs", denylist=["ground_truth_data", "representation_function",
                                   "random_state", "artifact_dir"])
def evaluate_irs(ground_truth_data: GroundTruthData,
                 representation_function: RepresentationFunction,
                 random_state: np.random.RandomState, artifact_dir: str | None = None,
                 diff_quantile: float = 0.99, num_train: int = gin.REQUIRED,
                 batch_size: int = gin.REQUIRED) -> dict[str, Any]:
  """dlib's `irs` on a dataset (factors discretised with the gin `discretizer`)."""
  del artifact_dir
  mus, ys = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  return irs_from_samples(mus, utils.make_discretizer(ys), diff_quantile)
