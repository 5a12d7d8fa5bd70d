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
  'sklearn' (default): scikit-learn's GradientBoostingClassifier itself, as dlib calls it:
    dlib's numbers (the reference; slowest, 3.5-4 min per model at dlib's sizes).
  'exact': another name of 'sklearn' (dlib's exact trees); the result records 'sklearn'.
  'numpy': dlib's trees, grown by `infofrag.metrics.dci_exact` in numpy: the
    same splits, leaf values, importances and predictions as scikit-learn's
    GradientBoostingClassifier at its defaults with the same seed, 5-9x faster at dlib's
    sizes on 2 cores (each code sorted once; a node's split search one vectorised running
    sum; README, "DCI numpy mode"). Splits where codes tie exactly in scikit-learn are
    broken as it breaks them (its splitter's draw order, replayed). Where they tie only
    up to rounding, scikit-learn's choice depends on its summation order and numpy mode
    may choose the other code: usually a small node's cut credited to another code, but in
    many-class factors' first rounds (residuals of few values) two different cuts, after
    which the trees differ. The result records such splits as `tied_splits`; on dlib's
    exported models the importance matrix stayed within scikit-learn's own seed-to-seed
    spread, informativeness within 2e-3 of scikit-learn's. Not the default while those
    rounding ties keep it from reproducing dlib's numbers exactly (issue 25's target).
  'fast': the same boosting (deviance loss, prior init, 100 rounds of depth-3 trees fit by
    squared error to the residuals, one tree per class and round, Newton leaf values,
    learning rate 0.1; importance = summed squared-error impurity decrease of a code's
    splits, normalised) with each tree's splits found by LightGBM on codes binned into
    FAST_MAX_BIN (2047) quantile bins instead of every midpoint between sorted values.
    LightGBM gets the residuals with unit hessians, so its split gain is scikit-learn's
    criterion; the leaf values are set here as scikit-learn sets them. The only
    difference from dlib is thus the coarser split thresholds, which fit the training
    points slightly less closely (with fewer distinct values than bins the trees are
    dlib's, up to ties). Measured on the quickstart's models at dlib's sizes:
    about 12x faster than 'sklearn', informativeness within 0.007 of it (README, "DCI fast
    mode"); about 1.5x faster than 'numpy', but not dlib's trees: use it only where
    that time matters more. Needs the lightgbm package; one LightGBM thread per fit.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

import gin
import joblib
from joblib.externals import loky
import numpy as np
import numpy.typing as npt
import scipy.stats
from sklearn import ensemble
import threadpoolctl

from infofrag.metrics import dci_exact
from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction

MODES = ("sklearn", "numpy", "fast")
# Older names: 'exact' meant scikit-learn's trees (dlib's exact numbers) and still does.
MODE_ALIASES = {"exact": "sklearn"}

# Threads, not worker processes: scikit-learn's tree building releases the GIL, each fit has
# its own RandomState, and threads die with the process (loky's worker processes outlived a
# killed evaluation by minutes).
PARALLEL_BACKEND = "threads"
# Numpy mode's code holds the GIL between array operations (on 2 cores, threads
# gained 1.14x, worker processes 1.9x), so on problems of at least this many code values
# (points x codes) its factors run in worker processes of a pool of their own. The pool
# is killed when the call ends (also when it is interrupted), and each worker exits within
# a second of its parent's death (a killed evaluation leaves no workers behind).
# Smaller problems stay on threads (a worker starts in about a second).
NUMPY_PROCESSES_MIN = 20000
_WORKER_IDLE_SECONDS = 10


def check_mode(mode: str) -> str:
  """The canonical name of `mode` (one of MODES, or an alias of one); else a one-line
  ValueError naming dci.mode."""
  mode = MODE_ALIASES.get(mode, mode)
  if mode not in MODES:
    raise ValueError(f"dci.mode must be 'sklearn' (dlib's trees from scikit-learn; also "
                     f"'exact'), 'numpy' (dlib's trees grown in numpy, faster, differing on "
                     f"rounding ties) or 'fast' (binned splits); got {mode!r}.")
  return mode


# Histogram bins per code in fast mode. Coarser thresholds fit the training points less
# closely than dlib's exact ones (higher test, lower train accuracy). On quickstart models
# at 10,000 training points, test accuracy minus exact's: +0.012 with 255 bins,
# +0.004..+0.0065 with 2047, <= +0.0012 with 4095 (about 25% slower than 2047).
FAST_MAX_BIN = 2047
_TREE_LEAVES = 8  # depth 3, as dlib's trees
_LEARNING_RATE = 0.1
_ROUNDS = 100


def _lightgbm():
  """The lightgbm module; a one-line ImportError naming the fix when it is missing."""
  try:
    import lightgbm
  except ImportError as error:
    raise ImportError("dci.mode = 'fast' needs LightGBM: pip install 'lightgbm>=4.3,<5', "
                      "or use dci.mode = 'sklearn'.") from error
  return lightgbm


def _probabilities(raw):
  """Class probabilities from raw scores [points, trees per round] (1 column: binary)."""
  if raw.shape[1] == 1:
    return 1.0 / (1.0 + np.exp(-raw))
  exp = np.exp(raw - raw.max(axis=1, keepdims=True))
  return exp / exp.sum(axis=1, keepdims=True)


def _flatten_tree(tree):
  """One tree of LightGBM's dump_model as rows of [split feature, threshold, left, right]
  per split node (split_index order; a child < 0 is leaf ~child): float64 [7, 4]."""
  table = np.zeros((_TREE_LEAVES - 1, 4))
  table[:, 2:] = -1.0  # unused rows: leaf 0
  stack = [tree["tree_structure"]]
  while stack:
    node = stack.pop()
    if "split_index" not in node:
      continue
    if node["decision_type"] != "<=":
      raise RuntimeError(f"dci.mode = 'fast' expects LightGBM '<=' splits, got "
                         f"{node['decision_type']!r}; use dci.mode = 'sklearn'.")
    children = [node["left_child"], node["right_child"]]
    table[node["split_index"]] = [node["split_feature"], node["threshold"]] + [
        child["split_index"] if "split_index" in child else ~child.get("leaf_index", 0)
        for child in children]
    stack += children
  return table


def _leaf_indices(tables, roots, codes):
  """Leaf of every point in every tree.

  tables [trees, 7, 4] (see `_flatten_tree`), roots [trees] (0, or -1 for a one-leaf tree),
  codes [points, codes] -> int64 [points, trees].
  """
  goes_left = codes[:, tables[..., 0].astype(np.int64)] <= tables[..., 1]  # [points, trees, 7]
  # The child each split sends each point to (a leaf as ~leaf), flat: [points * trees * 7].
  child = np.where(goes_left, tables[..., 2].astype(np.int8),
                   tables[..., 3].astype(np.int8)).ravel()
  base = np.arange(codes.shape[0] * len(roots)) * (_TREE_LEAVES - 1)
  state = np.tile(roots.astype(np.int8), codes.shape[0])
  for _ in range(_TREE_LEAVES - 1):
    inner = state >= 0
    if not inner.any():
      break
    state[inner] = child[base[inner] + state[inner]]
  return ~state.astype(np.int64).reshape(codes.shape[0], len(roots))


def _newton_leaf_values(leaves, residual, probability, factor):
  """dlib's (scikit-learn's) leaf values of one round's trees, times the learning rate.

  leaves, residual, probability: [points, trees per round]; returns [trees, 8]:
  factor * sum(residual) / sum(p (1 - p)) per leaf, 0 where the denominator vanishes.
  """
  index = (leaves + _TREE_LEAVES * np.arange(leaves.shape[1])).ravel()
  size = _TREE_LEAVES * leaves.shape[1]
  numerator = np.bincount(index, residual.ravel(), minlength=size)
  denominator = np.bincount(index, (probability * (1.0 - probability)).ravel(), minlength=size)
  safe = np.abs(denominator) >= 1e-150
  values = np.zeros(size)
  values[safe] = _LEARNING_RATE * factor * numerator[safe] / denominator[safe]
  return values.reshape(leaves.shape[1], _TREE_LEAVES)


class _FastTrees:
  """scikit-learn's gradient boosting (multinomial / binomial deviance, prior init, 100
  rounds of depth-3 trees fit by squared error to the residuals, Newton leaf values, learning
  rate 0.1) with the trees' splits found by LightGBM on binned codes.

  LightGBM gets the residuals as gradients with unit hessians, so its split gain is the
  squared-error (= friedman_mse) impurity decrease that scikit-learn's trees maximise; the
  leaf values are then set here as scikit-learn's. `importance` [codes] is the summed gain.
  """

  def __init__(self, codes, labels, seed):
    """codes [points, codes] float64, labels [points]: fits (LightGBM on one thread)."""
    self.classes, y = np.unique(labels, return_inverse=True)
    num_classes = self.classes.size
    per_round = 1 if num_classes <= 2 else num_classes
    target = np.eye(num_classes)[y] if per_round > 1 else y[:, None].astype(np.float64)
    prior = np.maximum(np.bincount(y, minlength=2) / y.size, 1e-300)
    self.init = np.log(prior) if per_round > 1 else np.log(prior[1:2] / prior[0])
    factor = 1.0 if per_round == 1 else (num_classes - 1) / num_classes
    params = {"objective": "none", "num_class": per_round, "learning_rate": _LEARNING_RATE,
              "max_depth": 3, "num_leaves": _TREE_LEAVES, "min_data_in_leaf": 1,
              "min_sum_hessian_in_leaf": 0.0, "lambda_l2": 0.0, "max_bin": FAST_MAX_BIN,
              "min_data_in_bin": 1, "num_threads": 1, "deterministic": True,
              "force_col_wise": True, "seed": seed, "verbose": -1}
    lightgbm = _lightgbm()
    booster = lightgbm.Booster(params=params, train_set=lightgbm.Dataset(
        codes, label=y.astype(np.float64), params=params))
    self.raw_train = np.tile(self.init, (y.size, 1))
    tables, roots, values = [], [], []
    for round_ in range(_ROUNDS):
      probability = _probabilities(self.raw_train)
      gradient = np.asfortranarray(probability - target)
      gradient = gradient if per_round > 1 else gradient[:, 0]
      if booster.update(fobj=lambda *_, g=gradient: (g, np.ones_like(g))):
        break  # no code can split any tree (e.g. constant codes)
      trees = booster.dump_model(start_iteration=round_, num_iteration=1)["tree_info"]
      tables.append(np.stack([_flatten_tree(tree) for tree in trees]))
      roots.append([0 if "split_index" in tree["tree_structure"] else -1 for tree in trees])
      leaves = _leaf_indices(tables[-1], np.array(roots[-1]), codes)
      values.append(_newton_leaf_values(leaves, target - probability, probability, factor))
      self.raw_train += values[-1][np.arange(per_round), leaves]
    self.rounds = list(zip(tables, np.array(roots, dtype=np.int64), values))
    self.importance = booster.feature_importance("gain").astype(np.float64)

  def raw_scores(self, codes):
    """Raw scores [points, trees per round] of codes [points, codes]."""
    raw = np.tile(self.init, (codes.shape[0], 1))
    for tables, roots, values in self.rounds:
      raw += values[np.arange(len(roots)), _leaf_indices(tables, roots, codes)]
    return raw

  def predict(self, codes=None):
    """Predicted labels [points] of codes [points, codes] (None: the training codes)."""
    raw = self.raw_train if codes is None else self.raw_scores(codes)
    if raw.shape[1] == 1:
      return self.classes[(raw[:, 0] > 0).astype(np.int64)]
    return self.classes[np.argmax(raw, axis=1)]


def _fit_numpy(codes_train, factor_train, codes_test, factor_test, seed):
  """dlib's trees for one factor, grown in numpy (dci_exact): (importances [codes],
  train acc, test acc, splits where codes tied)."""
  model = dci_exact.ExactGradientBoosting(codes_train, factor_train, seed)
  return (np.abs(model.feature_importances),
          np.mean(model.predict() == factor_train),
          np.mean(model.predict(codes_test) == factor_test),
          model.ties["codes"])


def _fit_sklearn(codes_train, factor_train, codes_test, factor_test, seed):
  """dlib's trees for one factor, by scikit-learn: (importances [codes], train acc,
  test acc, 0)."""
  model = ensemble.GradientBoostingClassifier(random_state=seed).fit(codes_train, factor_train)
  return (np.abs(model.feature_importances_),
          np.mean(model.predict(codes_train) == factor_train),
          np.mean(model.predict(codes_test) == factor_test), 0)


def _fit_fast(codes_train, factor_train, codes_test, factor_test, seed):
  """Fast mode's trees for one factor: (importances [codes] summing to 1 or all 0, train
  acc, test acc, 0)."""
  # LightGBM uses OpenMP threads; the factors already run in parallel (n_jobs), and
  # OpenMP's spinning threads slow down several-fold on shared cores: one each.
  with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
    model = _FastTrees(codes_train, factor_train, seed)
  total = model.importance.sum()
  return (model.importance / total if total > 0 else model.importance,
          np.mean(model.predict() == factor_train),
          np.mean(model.predict(codes_test) == factor_test), 0)


_FITS = {"numpy": _fit_numpy, "sklearn": _fit_sklearn, "fast": _fit_fast}


def _fit_factor(codes_train, factor_train, codes_test, factor_test, seed, mode="sklearn"):
  """Fits one factor's trees: (importances [codes], train acc, test acc, tied splits)."""
  return _FITS[mode](codes_train, factor_train, codes_test, factor_test, seed)


def _exit_with_parent(parent_pid: int) -> None:
  """Worker initializer: a daemon thread that ends the worker once `parent_pid` has died
  (the worker is re-parented), whatever it is doing."""
  def watch():
    while os.getppid() == parent_pid:
      time.sleep(1.0)
    os._exit(1)
  threading.Thread(target=watch, daemon=True).start()


def _fit_factor_args(args):
  """_fit_factor on a tuple of arguments (for an executor's map)."""
  return _fit_factor(*args)


def _run_fits(jobs, n_jobs, mode, num_values):
  """Runs _fit_factor on each argument tuple of `jobs` (in order) with up to n_jobs at once:
  threads, or for large numpy-mode problems worker processes (NUMPY_PROCESSES_MIN)."""
  workers = min(joblib.effective_n_jobs(n_jobs), len(jobs))
  if mode == "numpy" and workers > 1 and num_values >= NUMPY_PROCESSES_MIN:
    executor = loky.ProcessPoolExecutor(max_workers=workers, timeout=_WORKER_IDLE_SECONDS,
                                        initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
      return list(executor.map(_fit_factor_args, jobs))
    finally:
      executor.shutdown(wait=False, kill_workers=True)
  return joblib.Parallel(n_jobs=n_jobs, prefer=PARALLEL_BACKEND)(
      joblib.delayed(_fit_factor)(*args) for args in jobs)


def _fit_factors(mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode):
  """Every factor's trees (see importance_matrix_gbt): (importance [codes, factors],
  mean train accuracy, mean test accuracy, tied splits summed over the factors)."""
  num_factors = ys_train.shape[1]
  seeds = utils.split_seeds(random_state, num_factors)
  # Biggest jobs first (a tree per class and stage): balances the workers.
  sizes = [np.unique(ys_train[:, j]).size for j in range(num_factors)]
  order = sorted(range(num_factors), key=lambda j: -sizes[j])
  mode = check_mode(mode)
  jobs = [(mus_train, ys_train[:, j], mus_test, ys_test[:, j], int(seeds[j]), mode)
          for j in order]
  fits = _run_fits(jobs, n_jobs, mode, np.size(mus_train))
  by_factor = dict(zip(order, fits))
  importance = np.stack([by_factor[j][0] for j in range(num_factors)], axis=1)
  train_accuracy = np.mean([by_factor[j][1] for j in range(num_factors)])
  test_accuracy = np.mean([by_factor[j][2] for j in range(num_factors)])
  tied = sum(int(by_factor[j][3]) for j in range(num_factors))
  return importance.astype(np.float64), float(train_accuracy), float(test_accuracy), tied


def importance_matrix_gbt(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                          mus_test: npt.ArrayLike, ys_test: npt.ArrayLike,
                          random_state: int | np.random.RandomState = 0,
                          n_jobs: int | None = 1, mode: str = "sklearn"
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
  mode : {"sklearn", "numpy", "fast"} ("exact" is another name of "sklearn")
    dlib's trees grown here, dlib's trees from scikit-learn, or binned splits (module
    docstring).

  Returns
  -------
  tuple[np.ndarray, float, float]
    (importance [num_codes, num_factors] float64, mean train accuracy, mean test accuracy).
  """
  return _fit_factors(mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode)[:3]


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
                n_jobs: int | None = 1, mode: str = "sklearn") -> dict[str, Any]:
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
  mode : {"sklearn", "numpy", "fast"} ("exact" is another name of "sklearn")
    dlib's trees grown here (default), by scikit-learn, or with binned splits (see the
    module docstring).

  Returns
  -------
  dict
    disentanglement, completeness, informativeness_train, informativeness_test, mode;
    in 'numpy' mode also tied_splits (splits where codes tied, over all factors).
  """
  mode = check_mode(mode)
  mus_train, ys_train, mus_test, ys_test = checks.train_test_arrays(
      mus_train, ys_train, mus_test, ys_test, factor_dtype=None)
  importance, train_accuracy, test_accuracy, tied = _fit_factors(
      mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode)
  result = {"informativeness_train": train_accuracy,
            "informativeness_test": test_accuracy,
            "disentanglement": disentanglement(importance),
            "completeness": completeness(importance),
            "mode": mode}
  if mode == "numpy":
    result["tied_splits"] = tied
  return result


@gin.configurable("dci", denylist=["ground_truth_data", "representation_function",
                                   "random_state", "artifact_dir"])
def evaluate_dci(ground_truth_data: GroundTruthData,
                 representation_function: RepresentationFunction,
                 random_state: np.random.RandomState, artifact_dir: str | None = None,
                 num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED, batch_size: int = 16,
                 n_jobs: int | None = -1, mode: str = "sklearn") -> dict[str, Any]:
  """dlib's `dci` on a dataset; the tree seeds continue `random_state` after sampling.

  `mode` ('sklearn', 'numpy' or 'fast', gin `dci.mode`) is checked before any sampling.
  """
  del artifact_dir
  check_mode(mode)
  mus_train, ys_train = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_test, random_state, batch_size)
  return compute_dci(mus_train, ys_train, mus_test, ys_test, random_state, n_jobs, mode)
