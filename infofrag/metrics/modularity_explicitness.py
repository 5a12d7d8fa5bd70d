"""Modularity and explicitness (Ridgeway & Mozer 2018), as in dlib.

Modularity: per code, 1 - (sum of squared MI with all factors - max) / (max * (F - 1)),
0 for a code with no information; averaged over codes. MI of histogram-discretised
codes, nats. Explicitness: per factor, macro ROC-AUC of a one-vs-rest reading of a
logistic regression on all standardised codes; averaged over factors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np
import numpy.typing as npt
from sklearn import linear_model
from sklearn import metrics

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


def modularity(mutual_information: np.ndarray) -> float:
  """Modularity score from MI [num_codes, num_factors] (float)."""
  squared = np.square(mutual_information)
  max_squared = np.max(squared, axis=1)
  with np.errstate(divide="ignore", invalid="ignore"):
    delta = (np.sum(squared, axis=1) - max_squared) / (max_squared * (squared.shape[1] - 1.0))
  per_code = np.where(max_squared == 0.0, 0.0, 1.0 - delta)
  return float(np.mean(per_code))


def _indicator(labels, classes):
  return (labels[:, None] == classes[None, :]).astype(np.int64)


def explicitness_per_factor(mus_train: npt.ArrayLike, y_train: np.ndarray, mus_test: npt.ArrayLike,
                            y_test: np.ndarray) -> tuple[float, float]:
  """(train ROC-AUC, test ROC-AUC) of LogisticRegression predicting one factor.

  Parameters
  ----------
  mus_train, mus_test : array_like of shape (num_points, num_codes)
    Standardised codes.
  y_train, y_test : ndarray of shape (num_points,)
    Factor labels.
  """
  classifier = linear_model.LogisticRegression().fit(mus_train, y_train)
  test_classes = np.unique(y_test)
  if not np.array_equal(test_classes, classifier.classes_):
    # dlib would misalign columns or crash here; say what is wrong instead.
    raise ValueError(
        "Explicitness needs the same factor values in the train and test samples; the test "
        f"sample has {test_classes.size} values, the train sample {classifier.classes_.size}. "
        "Use larger num_train/num_test.")
  roc_train = metrics.roc_auc_score(_indicator(y_train, classifier.classes_),
                                    classifier.predict_proba(mus_train))
  roc_test = metrics.roc_auc_score(_indicator(y_test, test_classes),
                                   classifier.predict_proba(mus_test))
  return float(roc_train), float(roc_test)


def scores_from_samples(discrete_mus_train: np.ndarray, mus_train: npt.ArrayLike,
                        ys_train: npt.ArrayLike, mus_test: npt.ArrayLike,
                        ys_test: npt.ArrayLike) -> dict[str, float]:
  """Modularity and explicitness from sampled codes (and their discretisation)."""
  mutual_information = utils.discrete_mutual_info(discrete_mus_train, ys_train)
  mus_train_norm, mean, stddev = utils.normalize_data(mus_train)
  mus_test_norm, _, _ = utils.normalize_data(mus_test, mean, stddev)
  aucs = np.array([explicitness_per_factor(mus_train_norm, ys_train[:, j],
                                           mus_test_norm, ys_test[:, j])
                   for j in range(ys_train.shape[1])])  # one classifier per factor
  return {"modularity_score": modularity(mutual_information),
          "explicitness_score_train": float(np.mean(aucs[:, 0])),
          "explicitness_score_test": float(np.mean(aucs[:, 1]))}


def compute_modularity_explicitness(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                                    mus_test: npt.ArrayLike, ys_test: npt.ArrayLike,
                                    num_bins: int = 20) -> dict[str, float]:
  """Modularity and explicitness of a representation (row per point).

  Parameters
  ----------
  mus_train, mus_test : array_like of shape (num_points, num_codes)
    Codes.
  ys_train, ys_test : array_like of shape (num_points, num_factors)
    Discrete factors.
  num_bins : int
    histogram bins per code for the MI.

  Returns
  -------
  dict[str, float]
    dict: modularity_score, explicitness_score_train, explicitness_score_test.
  """
  mus_train, ys_train, mus_test, ys_test = checks.train_test_arrays(
      mus_train, ys_train, mus_test, ys_test, factor_dtype=None)
  if ys_train.shape[1] < 2:
    raise ValueError("Modularity needs at least 2 factors.")
  return scores_from_samples(utils.histogram_discretize(mus_train, num_bins), mus_train,
                             ys_train, mus_test, ys_test)


@gin.configurable("modularity_explicitness",
                  denylist=["ground_truth_data", "representation_function", "random_state",
                            "artifact_dir"])
def evaluate_modularity_explicitness(ground_truth_data: GroundTruthData,
                                     representation_function: RepresentationFunction,
                                     random_state: np.random.RandomState,
                                     artifact_dir: str | None = None,
                                     num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED,
                                     batch_size: int = 16) -> dict[str, Any]:
  """dlib's `modularity_explicitness` on a dataset (discretizer from gin)."""
  del artifact_dir
  mus_train, ys_train = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_train, random_state, batch_size)
  mus_test, ys_test = utils.generate_batch_factor_code(
      ground_truth_data, representation_function, num_test, random_state, batch_size)
  return scores_from_samples(utils.make_discretizer(mus_train), mus_train, ys_train,
                             mus_test, ys_test)
