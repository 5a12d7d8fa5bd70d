"""Fingerprints: Bhattacharyya distances against closed forms and brute force."""

import numpy as np
import pytest
from scipy import integrate
from scipy import stats

from infofrag import fragments


def _analytic_bc_1d(mu1, var1, mu2, var2):
  """Textbook Bhattacharyya coefficient of two 1-D Gaussians."""
  total = var1 + var2
  return np.sqrt(2.0 * np.sqrt(var1 * var2) / total) * np.exp(-(mu1 - mu2)**2 / (4.0 * total))


def _random_posteriors(num_points, num_dims, seed):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(num_points, num_dims)), rng.normal(-1.0, 1.0, size=(num_points, num_dims))


def test_one_dimensional_fingerprint_matches_analytic_coefficient():
  mus, logvars = _random_posteriors(40, 1, seed=0)
  distances = fragments.bhattacharyya_distances(mus, logvars)
  variances = np.exp(logvars[:, 0])
  expected = _analytic_bc_1d(mus[:, 0, None], variances[:, None], mus[None, :, 0], variances[None, :])
  np.testing.assert_allclose(np.exp(-distances), expected, rtol=1e-12, atol=1e-300)


def test_coefficient_equals_overlap_integral():
  # BC = integral sqrt(p q) du, checked by quadrature for one pair.
  mu1, var1, mu2, var2 = 0.3, 0.5, 1.7, 2.0
  overlap, _ = integrate.quad(
      lambda u: np.sqrt(stats.norm.pdf(u, mu1, np.sqrt(var1)) * stats.norm.pdf(u, mu2, np.sqrt(var2))),
      -30, 30, epsabs=1e-13)
  distances = fragments.bhattacharyya_distances([[mu1], [mu2]], np.log([[var1], [var2]]))
  assert np.exp(-distances[0, 1]) == pytest.approx(overlap, rel=1e-9)


def test_multidimensional_distance_is_sum_over_dimensions_and_groups():
  mus, logvars = _random_posteriors(30, 4, seed=1)
  per_channel = fragments.channel_fingerprints(mus, logvars)
  assert per_channel.shape == (4, 30, 30)
  full = fragments.bhattacharyya_distances(mus, logvars)
  np.testing.assert_allclose(full, per_channel.sum(axis=0), atol=1e-12)
  grouped = fragments.channel_fingerprints(mus, logvars, groups=[[0, 2], [3], [1, 2, 3]])
  np.testing.assert_allclose(grouped[0], per_channel[0] + per_channel[2], atol=1e-12)
  np.testing.assert_allclose(grouped[1], per_channel[3], atol=1e-12)
  np.testing.assert_allclose(grouped[2], per_channel[1:].sum(axis=0), atol=1e-12)


def test_fingerprints_are_symmetric_nonnegative_with_zero_diagonal():
  mus, logvars = _random_posteriors(50, 3, seed=2)
  prints = fragments.channel_fingerprints(mus, logvars)
  np.testing.assert_array_equal(prints, prints.transpose(0, 2, 1))
  assert prints.min() >= 0.0
  assert np.all(np.diagonal(prints, axis1=1, axis2=2) == 0.0)


def test_block_size_does_not_change_the_result_and_lazy_rows_match():
  mus, logvars = _random_posteriors(37, 3, seed=3)
  reference = fragments.channel_fingerprints(mus, logvars)
  tiny_blocks = fragments.channel_fingerprints(mus, logvars, max_memory_bytes=1)
  np.testing.assert_allclose(reference, tiny_blocks, rtol=0, atol=1e-13)
  np.testing.assert_array_equal(tiny_blocks, tiny_blocks.transpose(0, 2, 1))
  lazy = fragments.LazyFingerprints(mus, logvars)
  assert (lazy.num_fingerprints, lazy.num_points) == (3, 37)
  np.testing.assert_allclose(lazy.rows(5, 9), reference[:, 5:9, :], rtol=0, atol=1e-13)
  np.testing.assert_allclose(lazy.rows(5, 9, first_column=7), reference[:, 5:9, 7:], rtol=0, atol=1e-13)
  as_float32 = fragments.channel_fingerprints(mus, logvars, dtype=np.float32)
  assert as_float32.dtype == np.float32
  np.testing.assert_allclose(as_float32, reference, rtol=1e-6, atol=1e-6)


def test_cache_chunks_and_row_blocks_do_not_change_the_result(monkeypatch):
  # Chunks of 50 elements and blocks of 1-7 rows exercise every boundary of
  # the chunked kernel and of the mirrored triangle, with groups and float32.
  from infofrag.fragments import bhattacharyya
  mus, logvars = _random_posteriors(41, 3, seed=7)
  groups = [[0], [1, 2], [2, 0, 1]]
  variances = np.exp(logvars)
  mean_var = 0.5 * (variances[:, None, :] + variances[None, :, :])
  per_dim = (0.125 * (mus[:, None, :] - mus[None, :, :])**2 / mean_var
             + 0.5 * np.log(mean_var / np.sqrt(variances[:, None, :] * variances[None, :, :])))
  expected = np.stack([per_dim[:, :, group].sum(axis=-1) for group in groups])
  monkeypatch.setattr(bhattacharyya, "_CHUNK_ELEMENTS", 50)
  for rows in (1, 4, 7):
    built = bhattacharyya._materialise(bhattacharyya.LazyFingerprints(mus, logvars, groups), np.float64,
                                       max_memory_bytes=1, num_threads=2, rows_per_block=rows)
    np.testing.assert_allclose(built, expected, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(built, built.transpose(0, 2, 1))
    assert np.all(np.diagonal(built, axis1=1, axis2=2) == 0.0)
  lazy = fragments.LazyFingerprints(mus, logvars, groups)
  np.testing.assert_allclose(lazy.rows(3, 40, first_column=2), expected[:, 3:40, 2:], rtol=0, atol=1e-13)
  as_float32 = fragments.channel_fingerprints(mus, logvars, groups, dtype=np.float32, max_memory_bytes=1)
  np.testing.assert_allclose(as_float32, expected, rtol=1e-6, atol=1e-6)


def test_factor_fingerprints_are_zero_for_equal_labels_and_large_otherwise():
  labels = np.array([[0, 1], [0, 2], [1, 1]])
  prints = fragments.factor_fingerprints(labels)
  assert prints.shape == (2, 3, 3)
  mismatch = -np.log(1e-10)
  np.testing.assert_allclose(prints[0], [[0, 0, mismatch], [0, 0, mismatch], [mismatch, mismatch, 0]])
  np.testing.assert_allclose(np.exp(-prints[1]),
                             [[1, 1e-10, 1], [1e-10, 1, 1e-10], [1, 1e-10, 1]], rtol=1e-9)


@pytest.mark.parametrize("mus, logvars, message", [
    (np.zeros((5, 2)), np.zeros((5, 3)), "same shape"),
    (np.full((5, 1), np.nan), np.zeros((5, 1)), "finite"),
])
def test_bad_posteriors_are_rejected_with_a_clear_message(mus, logvars, message):
  with pytest.raises(ValueError, match=message):
    fragments.bhattacharyya_distances(mus, logvars)


def test_bad_inputs_name_the_problem():
  mus, logvars = _random_posteriors(5, 2, seed=4)
  with pytest.raises(ValueError, match="index outside 0..1"):
    fragments.channel_fingerprints(mus, logvars, groups=[[0, 2]])
  with pytest.raises(ValueError, match="float64 or float32"):
    fragments.channel_fingerprints(mus, logvars, dtype=np.int32)
  with pytest.raises(ValueError, match="integer factor values"):
    fragments.factor_fingerprints(np.array([[0.5], [1.0]]))
