"""BetaVAE score (Higgins et al. 2017), as in dlib's `evaluation/metrics/beta_vae.py`.

Each training point: pick a factor k at random, sample two batches of factors that
agree on k, and use the mean absolute difference of their codes as features with label
k. A logistic regression predicts k; the score is its accuracy on a fresh sample.

scikit-learn note: dlib uses `LogisticRegression(random_state=random_state)` at the
library's defaults. With today's default solver (lbfgs) it neither uses nor consumes the
random state; scikit-learn < 0.22 defaulted to liblinear one-vs-rest, which did, so
zoo numbers computed then can differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np
from sklearn import linear_model

from infofrag.metrics import utils
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData
  from infofrag.metrics.utils import RepresentationFunction


def _training_sample(ground_truth_data, representation_function, batch_size, random_state):
  """(factor index, feature [num_codes]) from two batches sharing one factor."""
  index = random_state.randint(ground_truth_data.num_factors)
  factors1 = ground_truth_data.sample_factors(batch_size, random_state)
  factors2 = ground_truth_data.sample_factors(batch_size, random_state)
  factors2[:, index] = factors1[:, index]
  observations1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
  observations2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
  codes1 = utils.represent(representation_function, observations1)
  codes2 = utils.represent(representation_function, observations2)
  return index, np.mean(np.abs(codes1 - codes2), axis=0)


def generate_training_batch(ground_truth_data: GroundTruthData,
                            representation_function: RepresentationFunction, batch_size: int,
                            num_points: int,
                            random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
  """num_points BetaVAE samples: (features [num_points, num_codes], labels [num_points])."""
  num_points = checks.check_positive_int(num_points, name="num_points")
  labels = np.zeros(num_points, dtype=np.int64)
  features = None
  for point in range(num_points):  # Sequential: each sample continues the random stream.
    labels[point], feature = _training_sample(ground_truth_data, representation_function,
                                              batch_size, random_state)
    if features is None:
      features = np.zeros((num_points, feature.shape[0]))
    features[point] = feature
  return features, labels


def fit_classifier(train_points: np.ndarray, train_labels: np.ndarray,
                   random_state: int | np.random.RandomState | None = None) -> Any:
  """dlib's classifier: LogisticRegression at scikit-learn defaults."""
  model = linear_model.LogisticRegression(random_state=random_state)
  model.fit(train_points, train_labels)
  return model


@gin.configurable("beta_vae_sklearn", denylist=["ground_truth_data", "representation_function",
                                                "random_state", "artifact_dir"])
def evaluate_beta_vae(ground_truth_data: GroundTruthData,
                      representation_function: RepresentationFunction,
                      random_state: np.random.RandomState, artifact_dir: str | None = None,
                      batch_size: int = gin.REQUIRED, num_train: int = gin.REQUIRED,
                      num_eval: int = gin.REQUIRED) -> dict[str, Any]:
  """dlib's `beta_vae_sklearn`: {"train_accuracy", "eval_accuracy"}."""
  del artifact_dir
  batch_size = checks.check_positive_int(batch_size, name="beta_vae_sklearn.batch_size")
  train_points, train_labels = generate_training_batch(
      ground_truth_data, representation_function, batch_size, num_train, random_state)
  model = fit_classifier(train_points, train_labels, random_state)
  train_accuracy = float(np.mean(model.predict(train_points) == train_labels))
  eval_points, eval_labels = generate_training_batch(
      ground_truth_data, representation_function, batch_size, num_eval, random_state)
  eval_accuracy = float(model.score(eval_points, eval_labels))
  return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy}
