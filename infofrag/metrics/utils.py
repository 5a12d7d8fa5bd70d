"""Sampling, discretisation and discrete mutual information shared by the metrics.

Layout: one row per data point everywhere ([num_points, num_codes] codes,
[num_points, num_factors] factors); dlib uses the transpose internally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gin
import numpy as np
from sklearn import ensemble
from sklearn import linear_model
from sklearn import model_selection

from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData

# dlib's representation function: a batch of observations -> codes of shape (B, num_codes).
RepresentationFunction = Callable[[np.ndarray], np.ndarray]

_ONE_HOT_CHUNK = 8192  # rows per block when counting joint label occurrences


def generate_batch_factor_code(ground_truth_data: GroundTruthData,
                               representation_function: RepresentationFunction, num_points: int,
                               random_state: np.random.RandomState,
                               batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
  """Samples factors and codes exactly as dlib does (same random draws, same batches).

  Parameters
  ----------
  ground_truth_data : GroundTruthData
    a GroundTruthData.
  representation_function : RepresentationFunction
    observations [B, ...] -> codes [B, num_codes].
  num_points : int
    number of points to sample (> 0).
  random_state : np.random.RandomState
    np.random.RandomState consumed by `ground_truth_data.sample`.
  batch_size : int
    points per `sample` call (dlib: 16); it changes the random stream.

  Returns
  -------
  tuple[np.ndarray, np.ndarray]
    (codes [num_points, num_codes] in the representation's dtype (kept as dlib does,
    since the histogram edges depend on it), factors [num_points, num_factors] int64).
  """
  num_points = checks.check_positive_int(num_points, name="num_points")
  batch_size = checks.check_positive_int(batch_size, name="batch_size")
  codes, factors = [], []
  for start in range(0, num_points, batch_size):
    batch = min(batch_size, num_points - start)
    batch_factors, observations = ground_truth_data.sample(batch, random_state)
    codes.append(represent(representation_function, observations))
    factors.append(np.asarray(batch_factors))
  return np.concatenate(codes, axis=0), np.concatenate(factors, axis=0)


def represent(representation_function: RepresentationFunction,
              observations: np.ndarray) -> np.ndarray:
  """Calls `representation_function` and checks it returned finite [B, num_codes]."""
  codes = np.asarray(representation_function(observations))
  num = len(observations)
  if codes.ndim != 2 or codes.shape[0] != num:
    raise ValueError(f"The representation function must map {num} observations to an array "
                     f"[{num}, num_codes]; it returned shape {codes.shape}.")
  if np.issubdtype(codes.dtype, np.floating) and not np.all(np.isfinite(codes)):
    raise ValueError("The representation function returned NaN or infinite codes.")
  return codes


def obtain_representation(observations: np.ndarray,
                          representation_function: RepresentationFunction,
                          batch_size: int) -> np.ndarray:
  """Codes [num_points, num_codes] of `observations`, encoded `batch_size` at a time."""
  batch_size = checks.check_positive_int(batch_size, name="batch_size")
  return np.concatenate(
      [represent(representation_function, observations[start:start + batch_size])
       for start in range(0, len(observations), batch_size)], axis=0)


@gin.configurable("histogram_discretizer", denylist=["target"])
def histogram_discretize(target: np.ndarray, num_bins: int = gin.REQUIRED) -> np.ndarray:
  """dlib's histogram discretizer, applied to each column separately.

  Each column gets `num_bins` equal-width bins over its own [min, max]
  (`np.histogram`'s edges, in the column's dtype as in dlib) and values are labelled
  1..num_bins with `np.digitize`.

  Parameters
  ----------
  target : ndarray of shape (num_points, num_columns)
    Array.
  num_bins : int
    number of bins (> 0).

  Returns
  -------
  ndarray of shape (num_points, num_columns)
    Array of bin labels, same dtype as `target`.
  """
  num_bins = checks.check_positive_int(num_bins, name="num_bins")
  target = np.asarray(target)
  discretized = np.zeros_like(target)
  for column in range(target.shape[1]):  # One histogram per code: edges differ per column.
    values = target[:, column]
    edges = np.histogram_bin_edges(values, num_bins)
    discretized[:, column] = np.digitize(values, edges[:-1])
  return discretized


@gin.configurable("discretizer", denylist=["target"])
def make_discretizer(target: np.ndarray, num_bins: int = gin.REQUIRED,
                     discretizer_fn: Callable[..., np.ndarray] = gin.REQUIRED) -> np.ndarray:
  """dlib's gin wrapper: `discretizer_fn(target, num_bins)` on [num_points, num_columns]."""
  return discretizer_fn(target, num_bins)


@gin.configurable("predictor")
def make_predictor_fn(predictor_fn: Callable[[], Any] = gin.REQUIRED) -> Callable[[], Any]:
  """dlib's gin wrapper: the classifier factory bound as `predictor.predictor_fn`.

  Returns
  -------
  Callable[[], Any]
    A function of no arguments returning a fresh, unfitted scikit-learn classifier.
  """
  if not callable(predictor_fn):
    raise ValueError("predictor.predictor_fn must name a classifier factory, e.g. "
                     "@logistic_regression_cv or @gradient_boosting_classifier; got "
                     f"{predictor_fn!r}.")
  return predictor_fn


@gin.configurable("logistic_regression_cv")
def logistic_regression_cv() -> linear_model.LogisticRegressionCV:
  """dlib's `logistic_regression_cv`: 10 inverse regularisation strengths chosen by
  5-fold cross-validation (consecutive, unshuffled folds)."""
  return linear_model.LogisticRegressionCV(Cs=10, cv=model_selection.KFold(n_splits=5))


@gin.configurable("gradient_boosting_classifier")
def gradient_boosting_classifier(random_state: int | None = 0
                                 ) -> ensemble.GradientBoostingClassifier:
  """dlib's `gradient_boosting_classifier`: scikit-learn's defaults.

  Parameters
  ----------
  random_state : int | None
    infofrag addition. dlib leaves it unset (numpy's global state). It only breaks exact
    ties between codes in a split (between duplicated codes the choice changes no
    prediction). The default 0 makes runs repeatable; None is dlib's behaviour.
  """
  return ensemble.GradientBoostingClassifier(random_state=random_state)


def _dense_labels(labels):
  """Relabels each column to 0..K-1; returns (int64 [N, C], sizes [C])."""
  dense = np.empty(labels.shape, dtype=np.int64)
  sizes = np.empty(labels.shape[1], dtype=np.int64)
  for column in range(labels.shape[1]):
    _, dense[:, column] = np.unique(labels[:, column], return_inverse=True)
    sizes[column] = dense[:, column].max() + 1
  return dense, sizes


def _joint_counts(dense_a, sizes_a, dense_b, sizes_b):
  """Co-occurrence counts of every (column of a, column of b) label pair.

  Returns [sum(sizes_a), sum(sizes_b)] float64 block matrix: block (i, j) is the
  contingency table of column i of a against column j of b.
  """
  offsets_a = np.concatenate([[0], np.cumsum(sizes_a)[:-1]])
  offsets_b = np.concatenate([[0], np.cumsum(sizes_b)[:-1]])
  total_a, total_b = int(sizes_a.sum()), int(sizes_b.sum())
  counts = np.zeros((total_a, total_b))
  for start in range(0, dense_a.shape[0], _ONE_HOT_CHUNK):
    rows = slice(start, start + _ONE_HOT_CHUNK)
    one_hot_a = _one_hot(dense_a[rows] + offsets_a, total_a)
    one_hot_b = _one_hot(dense_b[rows] + offsets_b, total_b)
    counts += one_hot_a.T @ one_hot_b  # Integer-valued sums: exact in float64.
  return counts, offsets_a, offsets_b


def _one_hot(indices, width):
  out = np.zeros((indices.shape[0], width))
  out[np.arange(indices.shape[0])[:, None], indices] = 1.0
  return out


def discrete_mutual_info(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
  """Mutual information (nats) between every code column and every factor column.

  Same estimator as dlib (`sklearn.metrics.mutual_info_score` of each pair, natural
  log, empirical distributions), computed for all pairs at once from one joint count
  matrix. A pair where either column takes a single value has MI exactly 0, as in
  scikit-learn.

  Parameters
  ----------
  codes : ndarray of shape (num_points, num_codes)
    Discrete labels (any values).
  factors : ndarray of shape (num_points, num_factors)
    Discrete labels.

  Returns
  -------
  ndarray of shape (num_codes, num_factors)
    Float64, nats.
  """
  dense_a, sizes_a = _dense_labels(np.asarray(codes))
  dense_b, sizes_b = _dense_labels(np.asarray(factors))
  num_points = dense_a.shape[0]
  counts, offsets_a, offsets_b = _joint_counts(dense_a, sizes_a, dense_b, sizes_b)
  count_a = np.concatenate([np.bincount(dense_a[:, i], minlength=k)
                            for i, k in enumerate(sizes_a)]).astype(np.float64)
  count_b = np.concatenate([np.bincount(dense_b[:, j], minlength=k)
                            for j, k in enumerate(sizes_b)]).astype(np.float64)
  with np.errstate(divide="ignore", invalid="ignore"):
    # sklearn's term: p_ab * (log n_ab - log N) + p_ab * (2 log N - log(n_a n_b)).
    p_ab = counts / num_points
    log_outer = -np.log(count_a[:, None] * count_b[None, :]) + 2.0 * np.log(num_points)
    terms = p_ab * (np.log(counts) - np.log(num_points)) + p_ab * log_outer
  terms = np.where(counts > 0, terms, 0.0)
  terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)  # as sklearn
  block_sums = np.add.reduceat(np.add.reduceat(terms, offsets_a, axis=0), offsets_b, axis=1)
  # A single-valued labelling has zero entropy, so its MI is exactly 0 (sklearn returns 0.0
  # before summing; the sum above can leave a ~1e-17 residue that decides, e.g., whether
  # modularity counts a constant code as informative).
  block_sums[sizes_a == 1, :] = 0.0
  block_sums[:, sizes_b == 1] = 0.0
  return np.clip(block_sums, 0.0, None)


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
  """Empirical entropy (nats) of each column: [num_points, F] -> [F] float64.

  Equals dlib's `mutual_info_score(y, y)`.
  """
  dense, sizes = _dense_labels(np.asarray(factors))
  num_points = dense.shape[0]
  entropies = np.empty(dense.shape[1])
  for column, size in enumerate(sizes):  # One bincount per factor, not per pair.
    counts = np.bincount(dense[:, column], minlength=size).astype(np.float64)
    probabilities = counts[counts > 0] / num_points
    entropies[column] = -np.sum(probabilities * np.log(probabilities))
  return entropies


def normalize_data(data: np.ndarray, mean: np.ndarray | None = None,
                   stddev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Standardises each column of [num_points, C] data (dlib: ddof=0 std).

  A constant column has std 0; it is only centred (std taken as 1), where dlib would
  divide by zero and fail in the classifier.

  Returns
  -------
  tuple[np.ndarray, np.ndarray, np.ndarray]
    (normalised [num_points, C], mean [C], stddev [C]).
  """
  if mean is None:
    mean = np.mean(data, axis=0)
  if stddev is None:
    stddev = np.std(data, axis=0)
    stddev = np.where(stddev > 0, stddev, 1.0)
  return (data - mean[None, :]) / stddev[None, :], mean, stddev


def split_seeds(random_state: np.random.RandomState, num: int) -> np.ndarray:
  """`num` int seeds drawn from `random_state` (int, RandomState or None -> 0)."""
  if random_state is None:
    random_state = 0
  if not isinstance(random_state, np.random.RandomState):
    random_state = np.random.RandomState(random_state)
  return random_state.randint(np.iinfo(np.int32).max, size=num)
