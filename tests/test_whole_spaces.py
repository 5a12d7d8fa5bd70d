"""Whole-space Monte Carlo table: closed forms, concatenation, errors, combination."""

import numpy as np
import pytest

from infofrag.analysis import tables
from infofrag.fragments import whole_spaces as spaces


def _factors(num_points=400, seed=0):
  rng = np.random.default_rng(seed)
  return np.stack([rng.integers(0, 4, num_points), rng.integers(0, 3, num_points)], axis=1)


def _copy_of_factors(factors, log_variance=np.log(1e-4)):
  mean = factors.astype(np.float64) * 3.0
  return spaces.Space("copy", "model", mean, np.full_like(mean, log_variance))


def test_a_copy_of_the_factors_has_nmi_one_with_them_and_noise_has_none():
  factors = _factors()
  names = ["a", "b"]
  copy = tables.space_row(_copy_of_factors(factors), factors, names, num_samples=2000, seed=0)
  assert copy["factors_nmi"] == pytest.approx(1.0, abs=3 * copy["factors_nmi_err"] + 1e-6)
  assert copy["nmi_a"] > 0.6 and copy["nmi_b"] > 0.5  # each factor is a part of the copy
  # The copy holds exactly the factors' joint entropy about the points.
  _, counts = np.unique(factors, axis=0, return_counts=True)
  entropy = -np.sum(counts / counts.sum() * np.log2(counts / counts.sum()))
  assert copy["info_bits"] == pytest.approx(entropy, abs=4 * copy["info_err"] + 1e-6)
  assert copy["bhattacharyya_info_bits"] == pytest.approx(entropy, abs=1e-6)
  rng = np.random.default_rng(1)
  noise = spaces.Space("noise", "model", rng.normal(size=(400, 3)), np.zeros((400, 3)))
  row = tables.space_row(noise, factors, names, num_samples=2000, seed=0)
  assert abs(row["factors_nmi"]) < 0.1 and abs(row["nmi_a"]) < 0.1
  assert row["info_fraction"] == pytest.approx(row["info_bits"] / np.log2(400))


def test_concatenating_two_identical_models_keeps_the_information():
  # Codes far apart relative to their noise: a second copy adds no information about X.
  factors = _factors(300)
  model = _copy_of_factors(factors)
  one = tables.space_row(model, factors, ["a", "b"], num_samples=2000, seed=4)
  twice = spaces.concatenate([model, model], "twice")
  assert twice.mean.shape == (300, 4) and twice.members == 2 and twice.kind == "concatenation"
  both = tables.space_row(twice, factors, ["a", "b"], num_samples=2000, seed=5)
  assert both["info_bits"] == pytest.approx(one["info_bits"], abs=4 * np.hypot(one["info_err"], both["info_err"]) + 1e-6)


def test_standard_errors_shrink_like_one_over_sqrt_draws():
  rng = np.random.default_rng(6)
  model = spaces.Space("m", "model", rng.normal(size=(200, 2)), np.full((200, 2), -0.5))
  factors = _factors(200)
  small = tables.space_row(model, factors, ["a", "b"], num_samples=500, seed=0)
  large = tables.space_row(model, factors, ["a", "b"], num_samples=8000, seed=0)
  for key in ("info_err", "factors_nmi_err", "factors_vi_err"):
    assert large[key] / small[key] == pytest.approx(0.25, rel=0.25), key


def test_inverse_variance_combination_of_three_pairs_by_hand():
  values, errors = [0.9, 0.95, 1.0], [0.1, 0.05, 0.2]
  weights = [100.0, 400.0, 25.0]
  mean = (0.9 * 100 + 0.95 * 400 + 1.0 * 25) / 525
  assert spaces.inverse_variance_mean(values, errors) == pytest.approx((mean, 525 ** -0.5))
  assert sum(weights) == 525
  with pytest.raises(ValueError, match="positive"):
    spaces.inverse_variance_mean([1.0], [0.0])


def test_model_similarity_matrix_and_combination():
  rng = np.random.default_rng(7)
  base = rng.normal(size=(300, 2))
  models = [spaces.Space(str(k), "model", base + 0.05 * rng.normal(size=base.shape),
                         np.full((300, 2), -3.0)) for k in range(3)]
  result = spaces.model_similarity(models, num_samples=1000, seed=0)
  assert result["nmi"].shape == (3, 3) and np.isnan(result["nmi"][0, 0])
  np.testing.assert_array_equal(result["nmi"], result["nmi"].T)
  assert len(result["pairs"]) == 3 and all(p["nmi"] > 0.7 for p in result["pairs"])
  expected = spaces.inverse_variance_mean([p["nmi"] for p in result["pairs"]],
                                          [p["nmi_err"] for p in result["pairs"]])
  assert (result["combined"]["nmi"], result["combined"]["nmi_err"]) == pytest.approx(expected)
  with pytest.raises(ValueError, match="at least two"):
    spaces.model_similarity(models[:1], num_samples=100, seed=0)
