"""MIG: known answers, invariances, hand-computed cases and input validation."""

import numpy as np
import pytest
from sklearn import metrics as sk_metrics

from infofrag.metrics import mig
from infofrag.metrics import utils


def _independent_factors(num_points, sizes, seed=0):
  rng = np.random.RandomState(seed)
  return np.stack([rng.randint(0, size, num_points) for size in sizes], axis=1)


def test_codes_equal_to_factors_score_near_one():
  factors = _independent_factors(5000, (3, 6, 10))
  # Affine transforms keep each value in its own histogram bin (<= 20 values).
  codes = factors * np.array([2.0, -0.5, 3.0]) + np.array([1.0, 4.0, -2.0])
  result = mig.compute_mig(codes, factors)
  assert result["discrete_mig"] > 0.98
  assert len(result["discrete_mig_per_factor"]) == 3
  assert min(result["discrete_mig_per_factor"]) > 0.97


def test_invariant_to_code_permutation_and_extra_noise_code_order():
  factors = _independent_factors(2000, (4, 5))
  rng = np.random.RandomState(1)
  codes = np.concatenate([factors + 0.3 * rng.randn(2000, 2), rng.randn(2000, 2)], axis=1)
  permuted = codes[:, [3, 1, 0, 2]]
  assert mig.compute_mig(codes, factors) == mig.compute_mig(permuted, factors)


def test_noise_codes_score_near_zero():
  factors = _independent_factors(5000, (3, 6, 10))
  codes = np.random.RandomState(2).randn(5000, 6)
  assert mig.compute_mig(codes, factors)["discrete_mig"] < 0.02


def test_constant_codes_score_zero():
  factors = _independent_factors(500, (3, 4))
  assert mig.compute_mig(np.ones((500, 3)), factors)["discrete_mig"] == 0.0


def test_code_mixing_two_factors_scores_lower_than_separate_codes():
  factors = _independent_factors(5000, (5, 5))
  separate = factors.astype(float)
  mixed = np.stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]], axis=1)
  assert (mig.compute_mig(mixed, factors)["discrete_mig"]
          < mig.compute_mig(separate, factors)["discrete_mig"] - 0.3)


def test_tiny_case_matches_mutual_info_score_by_hand():
  factors = np.array([[0], [0], [1], [1], [2], [2]])
  codes = np.array([[0.0, 5.0], [0.0, 7.0], [1.0, 5.0], [1.0, 7.0], [1.0, 5.0], [2.0, 5.0]])
  # Two values per column map to bins 1 and 20; three values to 1, 11 (the middle), 20.
  binned = utils.histogram_discretize(codes, 20)
  np.testing.assert_array_equal(binned[:, 0], [1, 1, 11, 11, 11, 20])
  np.testing.assert_array_equal(binned[:, 1], [1, 20, 1, 20, 1, 1])
  y = factors[:, 0]
  mi = sorted([sk_metrics.mutual_info_score(y, binned[:, 0]),
               sk_metrics.mutual_info_score(y, binned[:, 1])], reverse=True)
  expected = (mi[0] - mi[1]) / sk_metrics.mutual_info_score(y, y)
  assert mig.compute_mig(codes, factors)["discrete_mig"] == pytest.approx(expected, abs=1e-14)
  # Closed form: H(y) = ln 3. Code 0 bins {1: y 0,0}, {11: y 1,1,2}, {20: y 2};
  # code 1 bins {1: y 0,1,2,2}, {20: y 0,1}. I = H(y) - H(y | bin).
  h_y = np.log(3.0)
  i_0 = h_y - 3.0 / 6.0 * _entropy([2, 1])
  i_1 = h_y - (4.0 / 6.0 * _entropy([1, 1, 2]) + 2.0 / 6.0 * np.log(2.0))
  assert expected == pytest.approx((i_0 - i_1) / h_y, abs=1e-14)


def _entropy(counts):
  p = np.asarray(counts, float) / np.sum(counts)
  return -np.sum(p * np.log(p))


def test_discrete_mutual_info_matches_sklearn_for_every_pair():
  rng = np.random.RandomState(3)
  codes = rng.randint(0, 7, size=(800, 4)) * 3 - 2
  factors = np.stack([rng.randint(0, 3, 800), codes[:, 0] // 2 + rng.randint(0, 2, 800)], 1)
  matrix = utils.discrete_mutual_info(codes, factors)
  for i in range(4):
    for j in range(2):
      assert matrix[i, j] == pytest.approx(
          sk_metrics.mutual_info_score(factors[:, j], codes[:, i]), abs=1e-13)
  entropy = utils.discrete_entropy(factors)
  assert entropy[0] == pytest.approx(sk_metrics.mutual_info_score(factors[:, 0], factors[:, 0]))


def test_histogram_discretizer_matches_numpy_per_column():
  values = np.random.RandomState(4).randn(300, 3) * [1.0, 10.0, 0.01]
  binned = utils.histogram_discretize(values, 20)
  for column in range(3):
    edges = np.histogram(values[:, column], 20)[1][:-1]
    np.testing.assert_array_equal(binned[:, column], np.digitize(values[:, column], edges))
  assert binned.min() == 1 and binned.max() == 20


@pytest.mark.parametrize("codes, factors, message", [
    (np.ones((10, 2)), np.ones((9, 1)), "same data points"),
    (np.ones((10,)), np.ones((10, 1)), "mus_train must be 2-D"),
    (np.ones((0, 2)), np.ones((0, 1)), "num_points must be > 0"),
    (np.ones((10, 1)), np.arange(10)[:, None], "at least 2 columns"),
])
def test_rejects_bad_shapes(codes, factors, message):
  with pytest.raises(ValueError, match=message):
    mig.compute_mig(codes, factors)


def test_rejects_nan_naming_the_array():
  codes = np.random.RandomState(0).randn(20, 3)
  codes[4, 1] = np.nan
  with pytest.raises(ValueError, match="mus_train contains 1 NaN"):
    mig.compute_mig(codes, np.arange(20)[:, None] % 3)


def test_constant_factor_is_a_clear_error():
  factors = np.stack([np.zeros(50, dtype=int), np.arange(50) % 2], axis=1)
  with pytest.raises(ValueError, match=r"factor column\(s\) \[0\]"):
    mig.compute_mig(np.random.RandomState(0).randn(50, 3), factors)
