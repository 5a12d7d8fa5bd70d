"""DCI: known answers, importance-based scores, serial == parallel."""

import numpy as np
import pytest

from infofrag.metrics import dci
from infofrag.metrics import utils


def _factors(num_points, sizes, seed):
  rng = np.random.RandomState(seed)
  return np.stack([rng.randint(0, size, num_points) for size in sizes], axis=1)


def test_codes_equal_to_factors_score_near_maximum():
  train, test = _factors(400, (3, 4, 2), 0), _factors(200, (3, 4, 2), 1)
  rng = np.random.RandomState(0)
  permutation = [1, 2, 0]
  codes = np.exp(train[:, permutation]) + 1e-3 * rng.randn(400, 3)  # monotone transform
  codes_test = np.exp(test[:, permutation]) + 1e-3 * rng.randn(200, 3)
  result = dci.compute_dci(codes, train, codes_test, test)
  assert result["disentanglement"] > 0.9
  assert result["completeness"] > 0.9
  assert result["informativeness_train"] == 1.0
  assert result["informativeness_test"] == 1.0


def test_noise_codes_are_not_disentangled():
  train, test = _factors(300, (3, 3), 0), _factors(150, (3, 3), 1)
  rng = np.random.RandomState(1)
  result = dci.compute_dci(rng.randn(300, 4), train, rng.randn(150, 4), test)
  assert result["disentanglement"] < 0.2
  assert result["informativeness_test"] < 0.5


def test_constant_codes_have_zero_importance_and_score_zero():
  train, test = _factors(100, (2, 3), 0), _factors(50, (2, 3), 1)
  result = dci.compute_dci(np.ones((100, 3)), train, np.ones((50, 3)), test)
  assert result["disentanglement"] == pytest.approx(0.0, abs=1e-9)
  assert result["completeness"] == pytest.approx(0.0, abs=1e-9)


def test_scores_from_importance_matrix_by_hand():
  diagonal = np.diag([0.5, 0.3, 0.2])
  assert dci.disentanglement(diagonal) == pytest.approx(1.0, abs=1e-8)
  assert dci.completeness(diagonal) == pytest.approx(1.0, abs=1e-8)
  # One code carries both factors equally: D of that code is 0, C is 1 for each factor
  # only when the other codes have no importance.
  shared = np.array([[0.5, 0.5], [0.0, 0.0]])
  assert dci.disentanglement(shared) == pytest.approx(0.0, abs=1e-8)
  assert dci.completeness(shared) == pytest.approx(1.0, abs=1e-8)
  # Uniform importances: no disentanglement, no completeness.
  uniform = np.full((4, 2), 0.125)
  assert dci.disentanglement(uniform) == pytest.approx(0.0, abs=1e-9)
  assert dci.completeness(uniform) == pytest.approx(0.0, abs=1e-9)


def test_parallel_equals_serial_exactly():
  train, test = _factors(200, (4, 2, 3), 2), _factors(100, (4, 2, 3), 3)
  rng = np.random.RandomState(4)
  mixing = rng.randn(3, 5)
  codes = train @ mixing + 0.5 * rng.randn(200, 5)
  codes_test = test @ mixing + 0.5 * rng.randn(100, 5)
  serial = dci.importance_matrix_gbt(codes, train, codes_test, test, random_state=7, n_jobs=1)
  parallel = dci.importance_matrix_gbt(codes, train, codes_test, test, random_state=7, n_jobs=2)
  np.testing.assert_array_equal(serial[0], parallel[0])
  assert serial[1:] == parallel[1:]
  assert serial[0].shape == (5, 3)
  # An int seed and a RandomState with that seed give the same per-factor seeds.
  np.testing.assert_array_equal(utils.split_seeds(7, 3),
                                utils.split_seeds(np.random.RandomState(7), 3))


def test_rejects_test_arrays_with_other_factor_count():
  with pytest.raises(ValueError, match="ys_train has 2 columns but ys_test has 1"):
    dci.compute_dci(np.zeros((10, 2)), np.zeros((10, 2)), np.zeros((5, 2)), np.zeros((5, 1)))


def test_fast_mode_scores_codes_equal_to_factors_and_records_its_mode():
  train, test = _factors(400, (3, 4, 2), 0), _factors(200, (3, 4, 2), 1)
  rng = np.random.RandomState(0)
  codes = np.exp(train[:, [1, 2, 0]]) + 1e-3 * rng.randn(400, 3)
  codes_test = np.exp(test[:, [1, 2, 0]]) + 1e-3 * rng.randn(200, 3)
  fast = dci.compute_dci(codes, train, codes_test, test, mode="fast")
  assert fast["mode"] == "fast" and dci.compute_dci(codes, train, codes_test, test)["mode"] == "sklearn"
  assert fast["disentanglement"] > 0.9 and fast["completeness"] > 0.9
  assert fast["informativeness_train"] == 1.0 and fast["informativeness_test"] >= 0.99
  importance, _, _ = dci.importance_matrix_gbt(codes, train, codes_test, test, mode="fast")
  # Each factor's gain sits on the code that copies it (code k holds factor permutation[k]).
  assert list(importance.argmax(axis=0)) == [2, 0, 1]


def test_fast_mode_on_noise_and_bad_mode():
  train, test = _factors(300, (3, 3), 0), _factors(150, (3, 3), 1)
  rng = np.random.RandomState(1)
  result = dci.compute_dci(rng.randn(300, 4), train, rng.randn(150, 4), test, mode="fast")
  assert result["disentanglement"] < 0.2 and result["informativeness_test"] < 0.5
  with pytest.raises(ValueError, match="dci.mode must be 'sklearn'"):
    dci.compute_dci(rng.randn(300, 4), train, rng.randn(150, 4), test, mode="quick")


def test_fast_mode_informativeness_close_to_exact():
  # Noisy mixed codes (accuracies well below 1); 3-, 5- and 2-class factors cover the
  # multinomial and the binomial trees. Fewer distinct values than bins: fast mode's
  # splits are dlib's, so its accuracies and importances follow the exact ones closely.
  train, test = _factors(600, (3, 5, 2), 5), _factors(300, (3, 5, 2), 6)
  rng = np.random.RandomState(7)
  mixing = np.eye(3, 4) + 0.3 * rng.randn(3, 4)
  codes = train @ mixing + 0.8 * rng.randn(600, 4)
  codes_test = test @ mixing + 0.8 * rng.randn(300, 4)
  exact = dci.compute_dci(codes, train, codes_test, test, random_state=3)
  fast = dci.compute_dci(codes, train, codes_test, test, random_state=3, mode="fast")
  assert 0.3 < exact["informativeness_test"] < 0.9
  for key in ("informativeness_train", "informativeness_test"):
    assert fast[key] == pytest.approx(exact[key], abs=0.01), key
  for key in ("disentanglement", "completeness"):
    assert fast[key] == pytest.approx(exact[key], abs=0.02), key


def test_exact_is_another_name_of_sklearn_mode():
  # 'exact' has always promised dlib's numbers: it runs scikit-learn's trees.
  train, test = _factors(300, (3, 3), 0), _factors(150, (3, 3), 1)
  rng = np.random.RandomState(2)
  codes, codes_test = rng.randn(300, 3) + train[:, [0, 1, 0]], rng.randn(150, 3) + test[:, [0, 1, 0]]
  exact = dci.compute_dci(codes, train, codes_test, test, np.random.RandomState(0), mode="exact")
  reference = dci.compute_dci(codes, train, codes_test, test, np.random.RandomState(0),
                              mode="sklearn")
  assert exact == reference and exact["mode"] == "sklearn"
