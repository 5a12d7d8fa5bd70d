"""Monte Carlo information of full latent spaces, and error propagation."""

import numpy as np
import pytest
from scipy import integrate
from scipy import stats

from infofrag import fragments


def _two_gaussian_information(separation, variance):
  """I(U; X) in bits for X uniform on two points, U | x ~ N(mu_x, variance), by quadrature."""
  scale = np.sqrt(variance)
  def integrand(u, centre):
    own = stats.norm.pdf(u, centre, scale)
    mixture = 0.5 * (stats.norm.pdf(u, 0.0, scale) + stats.norm.pdf(u, separation, scale))
    return own * np.log2(own / mixture) if own > 0 else 0.0
  parts = [integrate.quad(integrand, -40, separation + 40, args=(c,), points=[0, separation], limit=200)[0]
           for c in (0.0, separation)]
  return 0.5 * sum(parts)


def test_estimate_matches_quadrature_within_its_standard_error():
  separation, variance = 1.5, 1.0
  exact = _two_gaussian_information(separation, variance)
  bits, error = fragments.monte_carlo_information([[0.0], [separation]], np.log([[variance], [variance]]),
                                                  num_samples=20000, seed=0)
  assert 0 < error < 0.01
  assert abs(bits - exact) < 4 * error


def test_limits_separated_points_give_log2_n_and_identical_points_give_zero():
  num_points = 32
  separated = np.arange(num_points, dtype=float)[:, None] * 100.0
  bits, error = fragments.monte_carlo_information(separated, np.zeros((num_points, 1)), 2000, seed=1)
  assert bits == pytest.approx(np.log2(num_points), abs=1e-9)
  assert error < 1e-9
  bits, _ = fragments.monte_carlo_information(np.zeros((num_points, 3)), np.zeros((num_points, 3)), 500, seed=1)
  assert bits == pytest.approx(0.0, abs=1e-12)


def test_chunking_over_the_dataset_does_not_change_the_estimate():
  rng = np.random.default_rng(2)
  mus, logvars = rng.normal(size=(3000, 4)), rng.normal(-2, 0.3, size=(3000, 4))
  whole = fragments.monte_carlo_information(mus, logvars, num_samples=3000, seed=5)
  chunked = fragments.monte_carlo_information(mus, logvars, num_samples=3000, seed=5, max_memory_bytes=200_000)
  np.testing.assert_allclose(whole, chunked, rtol=1e-10)
  other_seed = fragments.monte_carlo_information(mus, logvars, num_samples=3000, seed=6)
  assert other_seed[0] != whole[0]
  assert abs(other_seed[0] - whole[0]) < 5 * np.hypot(whole[1], other_seed[1])


def test_space_compared_with_itself_and_with_noise():
  rng = np.random.default_rng(3)
  num_points = 500
  mus = rng.normal(size=(num_points, 2))
  logvars = np.full((num_points, 2), np.log(0.05))
  same = fragments.monte_carlo_nmi_vi(mus, logvars, mus, logvars, num_samples=4000, seed=0)
  assert abs(same.nmi - 1.0) < 4 * same.nmi_error + 0.02
  assert abs(same.vi) < 4 * same.vi_error
  # Coarse spaces (a few bits each, well below log2 N) so that I(U, V) does not saturate.
  coarse = np.full((num_points, 2), np.log(0.5))
  unrelated = fragments.monte_carlo_nmi_vi(mus, coarse, rng.permutation(mus), coarse, num_samples=4000, seed=0)
  assert unrelated.nmi < 0.15
  assert unrelated.vi > 0.8 * (2 * unrelated.info_a - unrelated.info_aa + 2 * unrelated.info_b - unrelated.info_bb)


def test_error_propagation_matches_numerical_gradient_of_independent_terms():
  values = {"info_a": 3.1, "info_aa": 4.0, "info_b": 2.5, "info_bb": 3.2, "info_ab": 4.1}
  errors = {"info_a": 0.03, "info_aa": 0.05, "info_b": 0.02, "info_bb": 0.04, "info_ab": 0.06}
  nmi, nmi_error, vi, vi_error = fragments.propagate_nmi_vi(errors=errors, **values)
  def nmi_of(v):
    return (v["info_a"] + v["info_b"] - v["info_ab"]) / np.sqrt(
        (2 * v["info_a"] - v["info_aa"]) * (2 * v["info_b"] - v["info_bb"]))
  assert nmi == pytest.approx(nmi_of(values))
  variance = 0.0
  for name in values:
    step = dict(values)
    step[name] += 1e-6
    variance += ((nmi_of(step) - nmi_of(values)) / 1e-6 * errors[name])**2
  assert nmi_error == pytest.approx(np.sqrt(variance), rel=1e-4)
  assert vi == pytest.approx(2 * 4.1 - 4.0 - 3.2)
  # Independent errors add in quadrature whatever the sign of the term.
  assert vi_error == pytest.approx(np.sqrt(4 * 0.06**2 + 0.05**2 + 0.04**2))


def test_bad_inputs_are_rejected():
  with pytest.raises(ValueError, match="same data points"):
    fragments.monte_carlo_nmi_vi(np.zeros((4, 1)), np.zeros((4, 1)), np.zeros((5, 1)), np.zeros((5, 1)))
  with pytest.raises(ValueError, match="num_samples"):
    fragments.monte_carlo_information(np.zeros((4, 1)), np.zeros((4, 1)), num_samples=1)
