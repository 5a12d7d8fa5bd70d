"""SAP score (Kumar et al. 2018), as in dlib's `evaluation/metrics/sap_score.py`.

Score matrix [codes, factors]: for discrete factors, test accuracy of a 1-D linear
SVM (LinearSVC(C=0.01, class_weight="balanced")) predicting factor j from code i;
for continuous factors, squared correlation on the train set. `SAP_score` = mean over
factors of (best - second best score over codes).

Reproducing dlib: scikit-learn >= 1.5 switched LinearSVC's default `dual` from True to
"auto" (which picks the primal solver here), so `dual=True` is pinned. dlib leaves the
SVM's random_state unset, so liblinear draws one seed per fit from numpy's global
random state, and the SVM often stops at max_iter, so that seed can change the
predictions. Here the fits draw, in dlib's order, from the RandomState given as
`random_state`; None draws from numpy's global state exactly as dlib does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import copy
import warnings

import gin
import joblib
import numpy as np
import numpy.typing as npt
from sklearn import exceptions
from sklearn import svm

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction

SVM_C = 0.01
_LIBLINEAR_SEED_HIGH = np.iinfo("i").max  # liblinear draws randint(this) once per fit


def _svm_accuracy(code_train, factor_train, code_test, factor_test, rng):
  """Test accuracy of LinearSVC fit on one code column for one factor."""
  classifier = svm.LinearSVC(C=SVM_C, class_weight="balanced", dual=True, random_state=rng)
  with warnings.catch_warnings():
    # dlib's C and max_iter routinely stop liblinear early; the warning is expected noise.
    warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
    classifier.fit(code_train[:, None], factor_train)
  return float(np.mean(classifier.predict(code_test[:, None]) == factor_test))


def _fit_states(random_state, num_fits):
  """The RandomState each fit starts from, so parallel fits draw as a serial run would."""
  if random_state is None:
    random_state = np.random.mtrand._rand  # numpy's global state, as dlib's unseeded SVMs
  elif not isinstance(random_state, np.random.RandomState):
    random_state = np.random.RandomState(random_state)
  states = []
  for _ in range(num_fits):
    states.append(copy.deepcopy(random_state))
    random_state.randint(_LIBLINEAR_SEED_HIGH)  # the draw that fit will make
  return states


def discrete_score_matrix(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                          mus_test: npt.ArrayLike, ys_test: npt.ArrayLike,
                          random_state: int | np.random.RandomState | None = None,
                          n_jobs: int | None = 1) -> np.ndarray:
  """SVM test accuracies [num_codes, num_factors] (fits run in parallel with n_jobs)."""
  num_codes, num_factors = mus_train.shape[1], ys_train.shape[1]
  states = _fit_states(random_state, num_codes * num_factors)
  pairs = [(i, j) for i in range(num_codes) for j in range(num_factors)]  # dlib's order
  accuracies = joblib.Parallel(n_jobs=n_jobs)(
      joblib.delayed(_svm_accuracy)(mus_train[:, i], ys_train[:, j], mus_test[:, i],
                                    ys_test[:, j], state)
      for (i, j), state in zip(pairs, states))
  return np.asarray(accuracies).reshape(num_codes, num_factors)


def continuous_score_matrix(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike) -> np.ndarray:
  """Squared correlations [num_codes, num_factors] (ddof=1; 0 where var(code) <= 1e-12)."""
  num_points = mus_train.shape[0]
  centred_codes = mus_train - mus_train.mean(axis=0)
  centred_factors = ys_train - ys_train.mean(axis=0)
  covariance = centred_codes.T @ centred_factors / (num_points - 1)
  var_codes = np.sum(centred_codes ** 2, axis=0) / (num_points - 1)
  var_factors = np.sum(centred_factors ** 2, axis=0) / (num_points - 1)
  with np.errstate(divide="ignore", invalid="ignore"):
    scores = covariance ** 2 / (var_codes[:, None] * var_factors[None, :])
  return np.where(var_codes[:, None] > 1e-12, scores, 0.0)


def sap_from_score_matrix(score_matrix: np.ndarray) -> float:
  """Mean over factors of the gap between the two best codes: [codes, factors] -> float."""
  ordered = np.sort(score_matrix, axis=0)
  return float(np.mean(ordered[-1, :] - ordered[-2, :]))


def compute_sap(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike, mus_test: npt.ArrayLike,
                ys_test: npt.ArrayLike, continuous_factors: bool = False,
                random_state: int | np.random.RandomState | None = None,
                n_jobs: int | None = 1) -> dict[str, float]:
  """SAP score of a representation (dlib's `_compute_sap`, row per point).

  Parameters
  ----------
  mus_train, mus_test : array_like of shape (num_points, num_codes)
    Codes (num_codes >= 2).
  ys_train, ys_test : array_like of shape (num_points, num_factors)
    Factors (class labels when discrete).
  continuous_factors : bool
    treat factors as continuous (correlation) instead of classes.
  random_state : int | np.random.RandomState | None
    int, RandomState or None (numpy's global state, as dlib); seeds the
    liblinear solver of the discrete SVMs.
  n_jobs : int | None
    parallel SVM fits (joblib); results equal the serial run's.

  Returns
  -------
  dict[str, float]
    {"SAP_score": float}.
  """
  mus_train, ys_train, mus_test, ys_test = checks.train_test_arrays(
      mus_train, ys_train, mus_test, ys_test, factor_dtype=None)
  checks.check_min_columns(mus_train, name="mus_train", minimum=2, metric="SAP")
  if continuous_factors:
    scores = continuous_score_matrix(mus_train, ys_train.astype(np.float64))
  else:
    scores = discrete_score_matrix(mus_train, ys_train, mus_test, ys_test, random_state, n_jobs)
  return {"SAP_score": sap_from_score_matrix(scores)}


@gin.configurable("sap_score", denylist=["ground_truth_data", "representation_function",
                                         "random_state", "artifact_dir"])
def evaluate_sap(ground_truth_data: GroundTruthData,
                 representation_function: RepresentationFunction,
                 random_state: np.random.RandomState, artifact_dir: str | None = None,
                 num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED, batch_size: int = 16,
                 continuous_factors: bool = gin.REQUIRED,
                 n_jobs: int | None = 1) -> dict[str, Any]:
  """dlib's `sap_score` on a dataset: a train and a test sample from `random_state`.

  The SVMs' liblinear seeds continue `random_state`'s stream after the two samples
  (dlib: numpy's global state), so a run is reproducible from `evaluation.random_seed`.
  """
  del artifact_dir
  mus, ys = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_test, random_state, batch_size)
  return compute_sap(mus, ys, mus_test, ys_test, continuous_factors,
                     random_state=random_state, n_jobs=n_jobs)
