"""Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018), as in dlib.

One gradient-boosted-trees classifier per factor (scikit-learn defaults) on all codes;
importance matrix R [codes, factors] = |feature_importances_|. Disentanglement is the
importance-weighted mean over codes of 1 - H_K(R[i, :]) (entropy base K = #factors),
completeness the weighted mean over factors of 1 - H_D(R[:, j]) (base D = #codes).
Informativeness is the mean classification accuracy (train / test) over factors.

Difference from dlib: dlib's classifiers are unseeded (random_state=None: numpy's global
state). Here each factor's classifier gets its own seed drawn from `random_state`, so
the fits are independent and can run in parallel (`n_jobs`) with results identical to
the serial run. The seed only breaks exact ties between features in tree splits; with
continuous codes the numbers equal dlib's.

Modes (gin `dci.mode`; the result records which one ran):
  'exact' (default): scikit-learn's GradientBoostingClassifier at its defaults, as dlib.
  'fast': scikit-learn's HistGradientBoostingClassifier with the same capacity (100
    boosting rounds, learning rate 0.1, depth 3, no early stopping) on codes binned
    into 255 quantiles. Importance of a code = its summed split gain over all trees,
    normalised (dlib's is the summed impurity decrease); accuracies are those of the
    histogram trees. Measured on the quickstart's models: see README ("DCI fast mode").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import joblib
import numpy as np
import numpy.typing as npt
import scipy.stats
from sklearn import ensemble
import threadpoolctl

MODES = ("exact", "fast")
from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction

# Threads, not worker processes: scikit-learn's tree building releases the GIL, each fit has
# its own RandomState, and threads die with the process (loky's worker processes outlived a
# killed evaluation by minutes).
PARALLEL_BACKEND = "threads"


def check_mode(mode: str) -> str:
  """Returns `mode` if it is 'exact' or 'fast'; else a one-line ValueError naming dci.mode."""
  if mode not in MODES:
    raise ValueError(f"dci.mode must be 'exact' (dlib's trees) or 'fast' (histogram trees); "
                     f"got {mode!r}.")
  return mode


def _gain_importances(model, num_codes):
  """Summed split gain per code over every tree of a fitted HistGradientBoostingClassifier.

  scikit-learn keeps the trees in `_predictors` (one list of per-class trees per
  boosting round); each tree's `nodes` record holds its splits' feature and gain.
  """
  try:
    nodes = [predictor.nodes for rounds in model._predictors for predictor in rounds]  # pylint: disable=protected-access
    splits = np.concatenate([tree[~tree["is_leaf"].astype(bool)] for tree in nodes])
    features, gains = splits["feature_idx"], splits["gain"]
  except (AttributeError, KeyError, ValueError, TypeError) as error:
    raise RuntimeError("dci.mode = 'fast' reads the split gains of scikit-learn's "
                       "HistGradientBoostingClassifier trees, whose layout this scikit-learn "
                       f"version changed ({error}); use dci.mode = 'exact'.") from error
  return np.bincount(features.astype(np.int64), weights=np.maximum(gains, 0.0),
                     minlength=num_codes).astype(np.float64)


def _fit_factor(codes_train, factor_train, codes_test, factor_test, seed, mode="exact"):
  """Fits one factor's trees: returns (importances [codes], train acc, test acc)."""
  if mode == "exact":
    model = ensemble.GradientBoostingClassifier(random_state=seed)
  else:
    model = ensemble.HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=100, max_depth=3, max_leaf_nodes=None, min_samples_leaf=1,
        l2_regularization=0.0, early_stopping=False, random_state=seed)
  # Histogram trees use OpenMP threads; the factors already run in parallel (n_jobs),
  # and OpenMP's spinning threads slow down several-fold on shared cores: one each.
  with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
    model.fit(codes_train, factor_train)
    train_accuracy = np.mean(model.predict(codes_train) == factor_train)
    test_accuracy = np.mean(model.predict(codes_test) == factor_test)
  if mode == "exact":
    importance = np.abs(model.feature_importances_)
  else:
    importance = _gain_importances(model, codes_train.shape[1])
    importance = importance / importance.sum() if importance.sum() > 0 else importance
  return importance, train_accuracy, test_accuracy


def importance_matrix_gbt(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                          mus_test: npt.ArrayLike, ys_test: npt.ArrayLike,
                          random_state: int | np.random.RandomState = 0,
                          n_jobs: int | None = 1, mode: str = "exact"
                          ) -> tuple[np.ndarray, float, float]:
  """Importance matrix and accuracies of the per-factor gradient-boosted trees.

  Parameters
  ----------
  mus_train, mus_test : array_like of shape (num_points, num_codes)
    Float64.
  ys_train, ys_test : array_like of shape (num_points, num_factors)
    Class labels.
  random_state : int | np.random.RandomState
    int or RandomState; one seed per factor is drawn from it.
  n_jobs : int | None
    joblib workers (-1: all cores). Same numbers for any value.
  mode : {"exact", "fast"}
    dlib's GradientBoostingClassifier, or histogram trees (see the module docstring).

  Returns
  -------
  tuple[np.ndarray, float, float]
    (importance [num_codes, num_factors] float64, mean train accuracy, mean test accuracy).
  """
  num_factors = ys_train.shape[1]
  seeds = utils.split_seeds(random_state, num_factors)
  # Biggest jobs first (a tree per class and stage): balances the workers.
  sizes = [np.unique(ys_train[:, j]).size for j in range(num_factors)]
  order = sorted(range(num_factors), key=lambda j: -sizes[j])
  fits = joblib.Parallel(n_jobs=n_jobs, prefer=PARALLEL_BACKEND)(
      joblib.delayed(_fit_factor)(mus_train, ys_train[:, j], mus_test, ys_test[:, j],
                                  int(seeds[j]), check_mode(mode))
      for j in order)
  by_factor = dict(zip(order, fits))
  importance = np.stack([by_factor[j][0] for j in range(num_factors)], axis=1)
  train_accuracy = np.mean([by_factor[j][1] for j in range(num_factors)])
  test_accuracy = np.mean([by_factor[j][2] for j in range(num_factors)])
  return importance.astype(np.float64), float(train_accuracy), float(test_accuracy)


def disentanglement_per_code(importance: np.ndarray) -> np.ndarray:
  """1 - entropy (base #factors) of each code's importances: [codes, factors] -> [codes]."""
  return 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])


def _importance_weighted_mean(scores, importance, axis):
  """Mean of per-code (axis=1) or per-factor (axis=0) scores, each weighted by its share
  of the total importance (uniform weights when every importance is zero)."""
  if importance.sum() == 0.0:
    importance = np.ones_like(importance)
  weight = importance.sum(axis=axis) / importance.sum()
  return float(np.sum(scores * weight))


def disentanglement(importance: np.ndarray) -> float:
  """Importance-weighted mean of the per-code disentanglement (float)."""
  return _importance_weighted_mean(disentanglement_per_code(importance), importance, axis=1)


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
  """1 - entropy (base #codes) of each factor's importances: [codes, factors] -> [factors]."""
  return 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])


def completeness(importance: np.ndarray) -> float:
  """Importance-weighted mean of the per-factor completeness (float)."""
  return _importance_weighted_mean(completeness_per_factor(importance), importance, axis=0)


def compute_dci(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike, mus_test: npt.ArrayLike,
                ys_test: npt.ArrayLike, random_state: int | np.random.RandomState = 0,
                n_jobs: int | None = 1, mode: str = "exact") -> dict[str, Any]:
  """DCI scores of a representation (dlib's `_compute_dci`, row per point).

  Parameters
  ----------
  mus_train, mus_test : array_like of shape (num_points, num_codes)
    Codes.
  ys_train, ys_test : array_like of shape (num_points, num_factors)
    Discrete factors.
  random_state : int | np.random.RandomState
    int or RandomState for the per-factor tree seeds.
  n_jobs : int | None
    parallel per-factor fits (joblib; -1 = all cores); identical results.
  mode : {"exact", "fast"}
    dlib's trees (default) or histogram trees (see the module docstring).

  Returns
  -------
  dict
    disentanglement, completeness, informativeness_train, informativeness_test, mode.
  """
  check_mode(mode)
  mus_train, ys_train, mus_test, ys_test = checks.train_test_arrays(
      mus_train, ys_train, mus_test, ys_test, factor_dtype=None)
  importance, train_accuracy, test_accuracy = importance_matrix_gbt(
      mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode)
  return {"informativeness_train": train_accuracy,
          "informativeness_test": test_accuracy,
          "disentanglement": disentanglement(importance),
          "completeness": completeness(importance),
          "mode": mode}


@gin.configurable("dci", denylist=["ground_truth_data", "representation_function",
                                   "random_state", "artifact_dir"])
def evaluate_dci(ground_truth_data: GroundTruthData,
                 representation_function: RepresentationFunction,
                 random_state: np.random.RandomState, artifact_dir: str | None = None,
                 num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED, batch_size: int = 16,
                 n_jobs: int | None = -1, mode: str = "exact") -> dict[str, Any]:
  """dlib's `dci` on a dataset; the tree seeds continue `random_state` after sampling.

  `mode` ('exact' or 'fast', gin `dci.mode`) is checked before any sampling.
  """
  del artifact_dir
  check_mode(mode)
  mus_train, ys_train = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_test, random_state, batch_size)
  return compute_dci(mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode)
