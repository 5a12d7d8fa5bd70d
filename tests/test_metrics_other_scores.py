"""Modularity/explicitness, IRS and the unsupervised scores on arrays."""

import numpy as np
import pytest

from infofrag.metrics import irs
from infofrag.metrics import modularity_explicitness
from infofrag.metrics import unsupervised
from infofrag.metrics import utils


def _factors(num_points, sizes, seed):
  rng = np.random.RandomState(seed)
  return np.stack([rng.randint(0, size, num_points) for size in sizes], axis=1)


def test_modularity_explicitness_of_factor_codes_near_one():
  train, test = _factors(2000, (3, 5), 0), _factors(1000, (3, 5), 1)
  result = modularity_explicitness.compute_modularity_explicitness(
      train[:, ::-1] * 1.0, train, test[:, ::-1] * 1.0, test)
  assert result["modularity_score"] > 0.99
  assert result["explicitness_score_train"] > 0.9
  assert result["explicitness_score_test"] > 0.9


def test_modularity_by_hand():
  mutual_information = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]])
  # Code 0: perfect (1); code 1: delta = 0.25 / 0.25 = 1 -> 0; code 2: no information -> 0.
  assert modularity_explicitness.modularity(mutual_information) == pytest.approx(1.0 / 3.0)


def test_constant_code_has_exactly_zero_mutual_information():
  # With these 1000 points the summed MI terms of a constant code used to leave 3.3e-16,
  # and modularity then scored that code as perfectly modular (1) instead of 0 as dlib.
  rng = np.random.RandomState(0)
  factors = np.stack([rng.randint(0, size, 1000) for size in (3, 6, 40, 32, 32)], axis=1)
  codes = np.concatenate([factors[:, :2], np.ones((1000, 1))], axis=1)
  mutual_information = utils.discrete_mutual_info(codes, factors)
  assert np.all(mutual_information[2] == 0.0)
  assert np.all(utils.discrete_mutual_info(factors, codes[:, 2:])[:, 0] == 0.0)
  assert modularity_explicitness.modularity(mutual_information) == pytest.approx(
      2.0 / 3.0 * modularity_explicitness.modularity(mutual_information[:2]), abs=1e-15)


def test_noise_codes_have_chance_explicitness():
  train, test = _factors(1000, (2, 3), 0), _factors(500, (2, 3), 1)
  rng = np.random.RandomState(3)
  result = modularity_explicitness.compute_modularity_explicitness(
      rng.randn(1000, 3), train, rng.randn(500, 3), test)
  assert abs(result["explicitness_score_test"] - 0.5) < 0.06


def test_constant_code_is_centred_not_a_crash():
  train, test = _factors(300, (2, 3), 0), _factors(150, (2, 3), 1)
  codes = np.concatenate([train * 1.0, np.ones((300, 1))], axis=1)
  codes_test = np.concatenate([test * 1.0, np.ones((150, 1))], axis=1)
  result = modularity_explicitness.compute_modularity_explicitness(codes, train, codes_test, test)
  assert np.isfinite(result["explicitness_score_test"])


def test_explicitness_names_missing_test_values():
  train = _factors(200, (2, 4), 0)
  test = train[:20].copy()
  test[:, 1] = np.minimum(test[:, 1], 1)  # test sample lacks values 2 and 3
  with pytest.raises(ValueError, match="same factor values"):
    modularity_explicitness.compute_modularity_explicitness(train * 1.0, train, test * 1.0, test)


def test_irs_factor_codes_high_noise_low():
  factors = _factors(3000, (4, 6), 0)
  rng = np.random.RandomState(1)
  good = irs.compute_irs(factors + 0.01 * rng.randn(3000, 2), factors)
  noise = irs.compute_irs(rng.randn(3000, 2), factors)
  assert good["IRS"] > 0.9
  # Noise: 0.99-quantile deviation (~2.6 sd) over the max deviation (~3.8 sd) leaves ~0.3.
  assert noise["IRS"] < 0.45
  assert good["IRS"] > noise["IRS"] + 0.5
  assert good["num_active_codes"] == 2


def test_irs_by_hand_with_diff_quantile_one():
  # One factor, two values; the code is the factor plus +-1 inside each group.
  factors = np.array([[0], [0], [1], [1]])
  codes = np.array([[-1.0], [1.0], [9.0], [11.0]])
  # Group deviations are 1 in both groups, the largest deviation from the mean (5) is 6.
  assert irs.compute_irs(codes, factors, diff_quantile=1.0)["IRS"] == pytest.approx(1 - 1 / 6)


def test_irs_constant_codes_score_zero():
  result = irs.compute_irs(np.zeros((50, 3)), _factors(50, (2,), 0))
  assert result == {"IRS": 0.0, "num_active_dims": 0.0, "num_active_codes": 0}


def test_gaussian_total_correlation_closed_form():
  rho = 0.6
  cov = np.array([[2.0, rho * np.sqrt(2.0 * 3.0)], [rho * np.sqrt(2.0 * 3.0), 3.0]])
  assert unsupervised.gaussian_total_correlation(cov) == pytest.approx(
      -0.5 * np.log(1 - rho ** 2), abs=1e-12)
  assert unsupervised.gaussian_total_correlation(np.diag([1.0, 4.0])) == pytest.approx(0.0)
  assert unsupervised.gaussian_wasserstein_correlation(np.diag([1.0, 4.0])) == pytest.approx(
      0.0, abs=1e-12)


def test_unsupervised_scores_independent_vs_correlated_codes():
  rng = np.random.RandomState(0)
  independent = rng.randn(4000, 3)
  correlated = np.concatenate([independent[:, :1], independent[:, :1] + 0.1 * rng.randn(4000, 1),
                               independent[:, 2:]], axis=1)
  low = unsupervised.compute_unsupervised(independent)
  high = unsupervised.compute_unsupervised(correlated)
  assert low["gaussian_total_correlation"] < 0.01
  assert high["gaussian_total_correlation"] > 1.0
  assert high["mutual_info_score"] > 3 * low["mutual_info_score"]
  assert high["gaussian_wasserstein_correlation"] > low["gaussian_wasserstein_correlation"]


def test_unsupervised_needs_two_codes():
  with pytest.raises(ValueError, match="at least 2 columns"):
    unsupervised.compute_unsupervised(np.zeros((10, 1)))
