"""Information bound I(D) in bits: limits, stability, batching."""

import numpy as np
import pytest

from infofrag import fragments


def _direct_information(distances):
  """The formula as written (fine for small, non-underflowing inputs)."""
  return -np.mean(np.log2(np.mean(np.exp(-distances), axis=-1)), axis=-1)


def test_indistinguishable_points_carry_no_information():
  assert fragments.information(np.zeros((10, 10))) == pytest.approx(0.0, abs=1e-15)


def test_perfectly_separated_points_carry_log2_n_bits_even_when_exp_underflows():
  num_points = 16
  distances = np.full((num_points, num_points), 5000.0)
  np.fill_diagonal(distances, 0.0)
  assert np.all(np.exp(-distances[0, 1:]) == 0.0)  # the naive formula underflows here
  assert fragments.information(distances) == pytest.approx(np.log2(num_points), abs=1e-12)


def test_two_equal_halves_give_one_bit_via_factor_fingerprint():
  labels = np.repeat([0, 1], 20)
  bits = fragments.information(fragments.factor_fingerprints(labels))
  expected = -np.log2(0.5 + 0.5 * 1e-10)  # the 1e-10 floor of impossible pairs
  np.testing.assert_allclose(bits, [expected], rtol=1e-12)


def test_leading_axes_and_lazy_fingerprints_agree_with_direct_formula():
  rng = np.random.default_rng(0)
  mus, logvars = rng.normal(size=(30, 6)), rng.normal(-1, 0.5, size=(30, 6))
  prints = fragments.channel_fingerprints(mus, logvars)
  expected = _direct_information(prints)
  np.testing.assert_allclose(fragments.information(prints), expected, rtol=1e-12)
  batched = fragments.information(prints.reshape(2, 3, 30, 30), max_memory_bytes=1)
  np.testing.assert_allclose(batched, expected.reshape(2, 3), rtol=1e-12)
  lazy = fragments.information(fragments.LazyFingerprints(mus, logvars), max_memory_bytes=1)
  np.testing.assert_allclose(lazy, expected, rtol=1e-12)
  assert np.all((expected >= 0) & (expected <= np.log2(30)))


def test_information_rejects_non_square_input():
  with pytest.raises(ValueError, match=r"\[\.\.\., N, N\]"):
    fragments.information(np.zeros((3, 4)))


def test_lazy_information_of_channel_groups_and_confident_channels():
  # Groups (one whole-space fingerprint) and channels so confident that every
  # exp(-D_ij), j != i, underflows: the lazy path must still give log2 N.
  rng = np.random.default_rng(8)
  mus = np.concatenate([rng.normal(size=(60, 3)), 1e3 * np.arange(60)[:, None]], axis=1)
  logvars = np.concatenate([rng.normal(-1.0, 0.5, size=(60, 3)), np.full((60, 1), -10.0)], axis=1)
  groups = [[0], [0, 1, 2], [3]]
  lazy = fragments.information(fragments.LazyFingerprints(mus, logvars, groups), max_memory_bytes=1)
  direct = fragments.information(fragments.channel_fingerprints(mus, logvars, groups))
  np.testing.assert_allclose(lazy, direct, rtol=0, atol=1e-12)
  assert lazy[2] == pytest.approx(np.log2(60), abs=1e-12)
