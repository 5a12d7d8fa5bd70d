"""Mutual Information Gap (Chen et al. 2018), as in dlib's `evaluation/metrics/mig.py`.

For each factor j: (largest - second largest MI between a discretised code and y_j)
divided by H(y_j); `discrete_mig` is the mean over factors. MI in nats, codes binned
with the histogram discretizer (20 bins in dlib's configs).
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


def mig_from_discrete_codes(discrete_codes: np.ndarray, factors: np.ndarray) -> dict[str, Any]:
  """MIG of already discretised codes.

  Parameters
  ----------
  discrete_codes : ndarray of shape (num_points, num_codes)
    Bin labels (num_codes >= 2).
  factors : ndarray of shape (num_points, num_factors)
    Discrete factor labels.

  Returns
  -------
  dict[str, Any]
    dict: `discrete_mig` (float, in [0, 1]) and `discrete_mig_per_factor`
    (list of num_factors floats: each factor's normalised gap).

  Raises
  ------
  ValueError
    a factor is constant on the sample (its entropy is 0, the gap undefined).
  """
  mutual_info = utils.discrete_mutual_info(discrete_codes, factors)  # [codes, factors], nats
  entropy = utils.discrete_entropy(factors)  # [factors], nats
  if np.any(entropy == 0):
    constant = np.flatnonzero(entropy == 0).tolist()
    raise ValueError(f"MIG is undefined: factor column(s) {constant} take a single value on "
                     "the sample (zero entropy); use more points or drop those factors.")
  top_two = np.sort(mutual_info, axis=0)[::-1][:2]
  gaps = (top_two[0] - top_two[1]) / entropy
  return {"discrete_mig": float(np.mean(gaps)),
          "discrete_mig_per_factor": [float(gap) for gap in gaps]}


def compute_mig(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                num_bins: int = 20) -> dict[str, Any]:
  """MIG of a representation on given points (dlib's `_compute_mig`, row per point).

  Parameters
  ----------
  mus_train : array_like of shape (num_points, num_codes)
    Codes (num_codes >= 2).
  ys_train : array_like of shape (num_points, num_factors)
    Discrete factors.
  num_bins : int
    histogram bins per code.

  Returns
  -------
  dict[str, Any]
    dict with `discrete_mig` and `discrete_mig_per_factor`.
  """
  mus_train = checks.as_point_matrix(mus_train, name="mus_train", dtype=None)
  ys_train = checks.as_point_matrix(ys_train, name="ys_train", dtype=None)
  checks.check_same_points(mus_train, "mus_train", ys_train, "ys_train")
  checks.check_min_columns(mus_train, name="mus_train", minimum=2, metric="MIG")
  return mig_from_discrete_codes(utils.histogram_discretize(mus_train, num_bins), ys_train)


@gin.configurable("mig", denylist=["ground_truth_data", "representation_function",
                                   "random_state", "artifact_dir"])
def evaluate_mig(ground_truth_data: GroundTruthData,
                 representation_function: RepresentationFunction,
                 random_state: np.random.RandomState, artifact_dir: str | None = None,
                 num_train: int = gin.REQUIRED, batch_size: int = 16) -> dict[str, Any]:
  """dlib's `mig` on a dataset: samples num_train points, discretises with `discretizer`.

  Returns
  -------
  dict[str, Any]
    dict with `discrete_mig` and `discrete_mig_per_factor`.
  """
  del artifact_dir
  mus_train, ys_train = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  checks.check_min_columns(mus_train, name="the representation", minimum=2, metric="MIG")
  return mig_from_discrete_codes(utils.make_discretizer(mus_train), ys_train)
