"""Pairwise NMI / VI: closed forms, agreement with the per-pair formula, stability."""

import numpy as np
import pytest
from scipy import special

from infofrag import fragments


def _bits(distances):
  return -np.mean(np.log2(np.mean(np.exp(-distances), axis=-1)), axis=-1)


def _per_pair_reference(prints_a, prints_b):
  """The paper's NMI/VI formulas written out one pair at a time."""
  nmi = np.zeros((len(prints_a), len(prints_b)))
  vi = np.zeros_like(nmi)
  for a, da in enumerate(prints_a):
    for b, db in enumerate(prints_b):
      i_a, i_b, i_aa, i_bb, i_ab = _bits(da), _bits(db), _bits(2 * da), _bits(2 * db), _bits(da + db)
      nmi[a, b] = (i_a + i_b - i_ab) / np.sqrt((2 * i_a - i_aa) * (2 * i_b - i_bb))
      vi[a, b] = 2 * i_ab - i_aa - i_bb
  return nmi, vi


def _random_channels(num_points, num_channels, seed):
  rng = np.random.default_rng(seed)
  mus = rng.normal(size=(num_points, num_channels))
  logvars = rng.normal(-2.0, 0.5, size=(num_points, num_channels))
  return mus, logvars


def test_identical_channels_give_nmi_one_and_vi_zero():
  mus, logvars = _random_channels(80, 1, seed=0)
  prints = fragments.channel_fingerprints(np.tile(mus, (1, 3)), np.tile(logvars, (1, 3)))
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  np.testing.assert_allclose(nmi, np.ones((3, 3)), atol=1e-12)
  np.testing.assert_allclose(vi, np.zeros((3, 3)), atol=1e-12)


def test_channel_against_independent_noise_has_nmi_near_zero():
  rng = np.random.default_rng(1)
  num_points = 400
  signal = np.linspace(-2, 2, num_points)
  noise = rng.permutation(signal)  # same marginal, no relation to the points' order
  mus = np.stack([signal, noise], axis=1)
  prints = fragments.channel_fingerprints(mus, np.full_like(mus, np.log(0.05)))
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  assert abs(nmi[0, 1]) < 0.05
  assert nmi[0, 0] == pytest.approx(1.0, abs=1e-12)
  # Independent channels: VI is about the sum of the two entropies.
  assert vi[0, 1] > 0.9 * (2 * fragments.information(prints).sum() - fragments.information(2 * prints).sum())


def test_matrices_match_per_pair_formula_symmetric_and_vi_nonnegative():
  mus, logvars = _random_channels(60, 7, seed=2)
  prints = fragments.channel_fingerprints(mus, logvars)
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  ref_nmi, ref_vi = _per_pair_reference(prints, prints)
  np.testing.assert_allclose(nmi, ref_nmi, atol=1e-10)
  np.testing.assert_allclose(vi, ref_vi, atol=1e-10)
  np.testing.assert_array_equal(nmi, nmi.T)
  np.testing.assert_array_equal(vi, vi.T)
  assert vi.min() >= -1e-12


def test_two_sets_chunking_lazy_and_float32_agree():
  mus, logvars = _random_channels(45, 6, seed=3)
  prints = fragments.channel_fingerprints(mus, logvars)
  ref_nmi, ref_vi = _per_pair_reference(prints[:4], prints[2:])
  nmi, vi = fragments.pairwise_nmi_vi(prints[:4], prints[2:], max_memory_bytes=1)
  np.testing.assert_allclose(nmi, ref_nmi, atol=1e-10)
  np.testing.assert_allclose(vi, ref_vi, atol=1e-10)
  lazy_nmi, lazy_vi = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mus, logvars), max_memory_bytes=5000)
  full_nmi, full_vi = fragments.pairwise_nmi_vi(prints)
  np.testing.assert_allclose(lazy_nmi, full_nmi, atol=1e-12)
  np.testing.assert_allclose(lazy_vi, full_vi, atol=1e-12)
  nmi32, vi32 = fragments.pairwise_nmi_vi(prints, dtype=np.float32)
  np.testing.assert_allclose(nmi32, full_nmi, atol=1e-5)
  np.testing.assert_allclose(vi32, full_vi, atol=1e-5)


def test_thread_count_does_not_change_the_result():
  mus, logvars = _random_channels(53, 5, seed=5)
  lazy = fragments.LazyFingerprints(mus, logvars)
  one_nmi, one_vi = fragments.pairwise_nmi_vi(lazy, num_threads=1)
  three_nmi, three_vi = fragments.pairwise_nmi_vi(lazy, lazy, num_threads=3, max_memory_bytes=1)
  np.testing.assert_allclose(three_nmi, one_nmi, rtol=0, atol=1e-12)
  np.testing.assert_allclose(three_vi, one_vi, rtol=0, atol=1e-12)
  with pytest.raises(ValueError, match="num_threads"):
    fragments.pairwise_nmi_vi(lazy, num_threads=0)
  # Progress reports from the worker threads add up to the N rows, block by block.
  reported = []
  fragments.pairwise_information_terms(lazy, num_threads=2, max_memory_bytes=1, progress=reported.append)
  assert sum(reported) == 53 and len(reported) > 2


def test_underflowing_pair_sums_are_recomputed_exactly():
  # Fingerprints whose row minima sit at different columns (D_ii != 0), so every
  # product of shifted coefficients underflows even though the sum is well defined.
  num_points = 6
  base = np.full((num_points, num_points), 900.0)
  da = base.copy()
  db = base.copy()
  da[:, 0] = 0.0
  db[:, 1] = 0.0
  da[:, 2] = 450.0
  db[:, 2] = 450.0
  prints = np.stack([da, db])
  terms = fragments.pairwise_information_terms(prints, max_memory_bytes=1)
  row_lse = special.logsumexp(-(da + db), axis=1)  # about -900 + ln 3 for every row
  exact = np.mean(np.log(num_points) - row_lse) / np.log(2.0)
  assert np.all(np.exp(-(da - da.min(1, keepdims=True)) - (db - db.min(1, keepdims=True))).max(1) < 1e-300)
  assert terms.info_ab[0, 1] == pytest.approx(exact, rel=1e-12)
  assert np.isfinite(terms.info_ab).all()


@pytest.mark.parametrize("diagonal_offset", [3.0, 800.0])
def test_distance_matrices_whose_diagonal_is_not_the_row_minimum(diagonal_offset):
  # Fingerprints have D_ii = 0 = min_j D_ij, which the fast path relies on. Other
  # matrices must still give the exact values: a small offset keeps that path
  # (coefficients up to e^3), a large one overflows it and forces the general one.
  mus, logvars = _random_channels(40, 4, seed=6)
  prints = fragments.channel_fingerprints(mus, logvars)
  prints[1] += diagonal_offset * np.eye(40)
  terms = fragments.pairwise_information_terms(prints, max_memory_bytes=1)
  bits = lambda d: np.mean(np.log(40) - special.logsumexp(-d, axis=-1), axis=-1) / np.log(2.0)
  np.testing.assert_allclose(terms.info_a, bits(prints), rtol=1e-12)
  np.testing.assert_allclose(terms.info_aa, bits(2 * prints), rtol=1e-12)
  np.testing.assert_allclose(terms.info_ab, bits(prints[:, None] + prints[None, :]), rtol=1e-12)


def test_channel_nmi_with_factors_picks_the_encoded_factor():
  rng = np.random.default_rng(4)
  labels = np.stack([rng.integers(0, 4, 300), rng.integers(0, 3, 300)], axis=1)
  mus = labels + 0.05 * rng.normal(size=labels.shape)
  prints = fragments.channel_fingerprints(mus[:, ::-1], np.full(mus.shape, np.log(0.01)))
  nmi, _ = fragments.pairwise_nmi_vi(prints, fragments.factor_fingerprints(labels))
  assert nmi.shape == (2, 2)
  assert nmi[0, 1] > 0.95 and nmi[1, 0] > 0.95
  assert nmi[0, 0] < 0.1 and nmi[1, 1] < 0.1


def test_channel_without_information_gets_nmi_zero_not_nan():
  prints = np.stack([np.zeros((10, 10)), fragments.factor_fingerprints(np.arange(10) % 2)[0]])
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  assert np.isfinite(nmi).all() and nmi[0, 1] == 0.0
  assert vi[0, 1] == pytest.approx(1.0, abs=1e-6)


def test_mismatched_point_sets_are_rejected():
  with pytest.raises(ValueError, match="same points"):
    fragments.pairwise_nmi_vi(np.zeros((2, 5, 5)), np.zeros((2, 6, 6)))
  with pytest.raises(ValueError, match="max_memory_bytes"):
    fragments.pairwise_nmi_vi(np.zeros((2, 5, 5)), max_memory_bytes=0)


@pytest.mark.parametrize("two_sets", [False, True])
def test_row_sums_over_ranges_add_up_to_the_terms_of_all_rows(two_sets):
  # The distributed stage splits the N points over tasks and adds their row sums.
  mus, logvars = _random_channels(90, 7, seed=5)
  lazy_a = fragments.LazyFingerprints(mus[:, :4], logvars[:, :4])
  lazy_b = fragments.LazyFingerprints(mus[:, 4:], logvars[:, 4:]) if two_sets else None
  whole = fragments.pairwise_information_terms(lazy_a, lazy_b, num_threads=1)
  parts = [fragments.pairwise_row_sums(lazy_a, lazy_b, rows=rows, num_threads=1)
           for rows in ((0, 31), (31, 32), (32, 90))]
  assert ("lse_b" in parts[0]) == two_sets
  split = fragments.terms_from_row_sums(fragments.combine_row_sums(parts), 90)
  for name in fragments.InformationTerms._fields:
    np.testing.assert_allclose(getattr(split, name), getattr(whole, name), rtol=0, atol=1e-12)
  if two_sets:
    assert split.info_ab.shape == (4, 3) and split.info_b.shape == (3,)
  else:  # a set against itself: exactly symmetric, as the one call makes it
    assert np.array_equal(split.info_ab, split.info_ab.T)
  with pytest.raises(ValueError, match="rows must be a non-empty range"):
    fragments.pairwise_row_sums(lazy_a, lazy_b, rows=(40, 40))
