"""Downstream classification, as in dlib's `evaluation/metrics/downstream_task.py`.

For every training-set size n in `num_train`, a fresh labelled sample of n points and a
test sample of `num_test` points are drawn; one classifier per factor (the gin
`predictor.predictor_fn`: dlib's configs use `@logistic_regression_cv` or
`@gradient_boosting_classifier`) is fit on all codes, and its accuracy on the training
and the test points is reported, per factor and as the mean and minimum over factors.
Result keys are dlib's, prefixed by the size: `"100:mean_test_accuracy"`,
`"100:test_accuracy_factor_2"`, ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import gin
import numpy as np
import numpy.typing as npt

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


def factor_accuracies(mus_train: np.ndarray, ys_train: np.ndarray, mus_test: np.ndarray,
                      ys_test: np.ndarray, *, predictor_fn: Callable[[], Any]
                      ) -> tuple[np.ndarray, np.ndarray]:
  """Train and test accuracy of one classifier per factor, fit on all codes.

  Parameters
  ----------
  mus_train : ndarray of shape (num_train, num_codes)
    Training codes (their dtype is kept: it changes some classifiers' arithmetic).
  ys_train : ndarray of shape (num_train, num_factors)
    Training factor labels.
  mus_test : ndarray of shape (num_test, num_codes)
    Test codes.
  ys_test : ndarray of shape (num_test, num_factors)
    Test factor labels.
  predictor_fn : Callable[[], Any]
    Returns a fresh unfitted scikit-learn classifier.

  Returns
  -------
  tuple[np.ndarray, np.ndarray]
    (train accuracies [num_factors], test accuracies [num_factors]), float64.
  """
  num_factors = ys_train.shape[1]
  train_accuracy, test_accuracy = np.zeros(num_factors), np.zeros(num_factors)
  for factor in range(num_factors):
    model = predictor_fn()
    model.fit(mus_train, ys_train[:, factor])
    train_accuracy[factor] = np.mean(model.predict(mus_train) == ys_train[:, factor])
    test_accuracy[factor] = np.mean(model.predict(mus_test) == ys_test[:, factor])
  return train_accuracy, test_accuracy


def scores_for_size(size: int, train_accuracy: np.ndarray,
                    test_accuracy: np.ndarray) -> dict[str, float]:
  """dlib's keys for one training-set size, in dlib's order.

  Parameters
  ----------
  size : int
    The training-set size (the keys' prefix).
  train_accuracy, test_accuracy : ndarray of shape (num_factors,)
    Per-factor accuracies.

  Returns
  -------
  dict[str, float]
    `"{size}:mean_train_accuracy"`, `":mean_test_accuracy"`, `":min_train_accuracy"`,
    `":min_test_accuracy"`, then `":train_accuracy_factor_{i}"` and
    `":test_accuracy_factor_{i}"` for each factor i.
  """
  scores = {f"{size}:mean_train_accuracy": float(np.mean(train_accuracy)),
            f"{size}:mean_test_accuracy": float(np.mean(test_accuracy)),
            f"{size}:min_train_accuracy": float(np.min(train_accuracy)),
            f"{size}:min_test_accuracy": float(np.min(test_accuracy))}
  for factor, (train, test) in enumerate(zip(train_accuracy, test_accuracy)):
    scores[f"{size}:train_accuracy_factor_{factor}"] = float(train)
    scores[f"{size}:test_accuracy_factor_{factor}"] = float(test)
  return scores


def compute_downstream_task(mus_train: npt.ArrayLike, ys_train: npt.ArrayLike,
                            mus_test: npt.ArrayLike, ys_test: npt.ArrayLike, *,
                            predictor_fn: Callable[[], Any]) -> dict[str, float]:
  """Downstream accuracies of a representation on given points (row per point).

  Parameters
  ----------
  mus_train : array_like of shape (num_train, num_codes)
    Training codes.
  ys_train : array_like of shape (num_train, num_factors)
    Training factor labels.
  mus_test : array_like of shape (num_test, num_codes)
    Test codes.
  ys_test : array_like of shape (num_test, num_factors)
    Test factor labels.
  predictor_fn : Callable[[], Any]
    Returns a fresh unfitted classifier, e.g. `utils.logistic_regression_cv`.

  Returns
  -------
  dict[str, float]
    dlib's keys (see `scores_for_size`) with the size num_train.
  """
  mus_train, ys_train, mus_test, ys_test = checks.train_test_arrays(
      mus_train, ys_train, mus_test, ys_test, factor_dtype=None, code_dtype=None)
  accuracies = factor_accuracies(mus_train, ys_train, mus_test, ys_test,
                                 predictor_fn=predictor_fn)
  return scores_for_size(mus_train.shape[0], *accuracies)


def check_train_sizes(num_train: Any) -> list[int]:
  """`downstream_task.num_train` as a list of positive ints; a one-line ValueError if not."""
  if isinstance(num_train, (str, bytes)) or not isinstance(num_train, Sequence) or not num_train:
    raise ValueError("downstream_task.num_train must be a non-empty list of training-set "
                     f"sizes, e.g. [10, 100, 1000, 10000]; got {num_train!r}.")
  return [checks.check_positive_int(size, name="each of downstream_task.num_train")
          for size in num_train]


@gin.configurable("downstream_task", denylist=["ground_truth_data", "representation_function",
                                               "random_state", "artifact_dir"])
def evaluate_downstream_task(ground_truth_data: GroundTruthData,
                             representation_function: RepresentationFunction,
                             random_state: np.random.RandomState,
                             artifact_dir: str | None = None, *,
                             num_train: Sequence[int] = gin.REQUIRED,
                             num_test: int = gin.REQUIRED,
                             batch_size: int = 16) -> dict[str, float]:
  """dlib's `downstream_task` on a dataset (classifier from gin `predictor.predictor_fn`).

  For each size in num_train (in order) a training then a test sample are drawn from
  random_state, as dlib does.

  Returns
  -------
  dict[str, float]
    dlib's keys for every size (see `scores_for_size`).
  """
  del artifact_dir
  sizes = check_train_sizes(num_train)
  num_test = checks.check_positive_int(num_test, name="downstream_task.num_test")
  batch_size = checks.check_positive_int(batch_size, name="downstream_task.batch_size")
  predictor_fn = utils.make_predictor_fn()
  scores = {}
  for size in sizes:
    mus_train, ys_train = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, size, random_state, batch_size)
    mus_test, ys_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size)
    scores.update(scores_for_size(size, *factor_accuracies(
        mus_train, ys_train, mus_test, ys_test, predictor_fn=predictor_fn)))
  return scores
