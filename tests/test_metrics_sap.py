"""SAP score: known answers, continuous variant, seeding and parallel fits."""

import numpy as np
import pytest

from infofrag.metrics import sap


def _binary_factors(num_points, num_factors, seed):
  return np.random.RandomState(seed).randint(0, 2, size=(num_points, num_factors))


def test_codes_equal_to_binary_factors_score_near_one():
  train, test = _binary_factors(600, 3, 0), _binary_factors(300, 3, 1)
  permutation = [2, 0, 1]
  result = sap.compute_sap(3.0 * train[:, permutation] - 1.0, train,
                           3.0 * test[:, permutation] - 1.0, test, random_state=0)
  # Each factor: perfect code accuracy 1, the other codes about chance (0.5).
  assert result["SAP_score"] > 0.4
  scores = sap.discrete_score_matrix(train[:, permutation].astype(float), train,
                                     test[:, permutation].astype(float), test, 0)
  np.testing.assert_array_equal(np.argmax(scores, axis=0), [1, 2, 0])
  assert np.all(scores.max(axis=0) == 1.0)


def test_constant_codes_score_near_zero():
  train, test = _binary_factors(200, 2, 0), _binary_factors(100, 2, 1)
  result = sap.compute_sap(np.zeros((200, 3)), train, np.zeros((100, 3)), test, random_state=0)
  # Intercept-only SVMs: each predicts one class, which one depends on where liblinear
  # stops (its seed), so the codes differ only by chance-level accuracies.
  assert result["SAP_score"] < 0.1
  assert sap.compute_sap(np.zeros((200, 3)), train, np.zeros((100, 3)), test,
                         continuous_factors=True)["SAP_score"] == 0.0


def test_continuous_score_matrix_is_squared_correlation():
  rng = np.random.RandomState(0)
  factors = rng.randn(500, 2)
  codes = np.stack([factors[:, 0] + 0.5 * rng.randn(500), rng.randn(500), factors[:, 1]], 1)
  matrix = sap.continuous_score_matrix(codes, factors)
  for i in range(3):
    for j in range(2):
      assert matrix[i, j] == pytest.approx(np.corrcoef(codes[:, i], factors[:, j])[0, 1] ** 2,
                                           abs=1e-12)
  expected = np.mean([matrix[0, 0] - max(matrix[1, 0], matrix[2, 0]),
                      matrix[2, 1] - max(matrix[0, 1], matrix[1, 1])])
  result = sap.compute_sap(codes, factors, codes, factors, continuous_factors=True)
  assert result["SAP_score"] == pytest.approx(expected, abs=1e-12)


def test_noise_codes_score_near_zero():
  train, test = _binary_factors(1000, 3, 0), _binary_factors(500, 3, 1)
  rng = np.random.RandomState(5)
  result = sap.compute_sap(rng.randn(1000, 4), train, rng.randn(500, 4), test, random_state=0)
  assert result["SAP_score"] < 0.06


def test_parallel_equals_serial_and_none_uses_numpy_global_state_like_dlib():
  rng = np.random.RandomState(2)
  train = rng.randint(0, 5, size=(200, 2))
  test = rng.randint(0, 5, size=(100, 2))
  codes, codes_test = train + rng.randn(200, 2), test + rng.randn(100, 2)
  serial = sap.discrete_score_matrix(codes, train, codes_test, test, np.random.RandomState(9))
  parallel = sap.discrete_score_matrix(codes, train, codes_test, test,
                                       np.random.RandomState(9), n_jobs=2)
  np.testing.assert_array_equal(serial, parallel)
  np.random.seed(9)
  global_state = sap.discrete_score_matrix(codes, train, codes_test, test, None)
  np.testing.assert_array_equal(serial, global_state)
  # Four fits each drew one liblinear seed from the global state, as dlib's SVMs do.
  reference = np.random.RandomState(9)
  for _ in range(4):
    reference.randint(np.iinfo("i").max)
  assert np.random.randint(1 << 30) == reference.randint(1 << 30)


def test_rejects_mismatched_train_test_columns():
  with pytest.raises(ValueError, match="mus_train has 3 columns but mus_test has 2"):
    sap.compute_sap(np.zeros((10, 3)), np.zeros((10, 1)), np.zeros((5, 2)), np.zeros((5, 1)))
  with pytest.raises(ValueError, match="ys_test contains 1 NaN"):
    sap.compute_sap(np.zeros((10, 3)), np.zeros((10, 1)), np.zeros((5, 3)),
                    np.array([[0.0], [1.0], [np.nan], [0.0], [1.0]]))
