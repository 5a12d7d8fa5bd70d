"""Monte Carlo information of full latent spaces over a whole dataset (the paper's whole-space Monte Carlo estimate).

  I(U; X) = E_{i, u ~ p(u|x_i)} [ ln p(u|x_i) - ln( (1/N) sum_j p(u|x_j) ) ] / ln 2

with i drawn uniformly from the N data points and p(u|x) = N(mu, diag(exp(logvar))).
The sum over j runs over the whole dataset (tens of thousands of posteriors) in
chunks, keeping a running log-sum-exp, so memory is bounded by
`max_memory_bytes`. The estimate is at most log2 N.
"""

from __future__ import annotations

import collections

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from infofrag.fragments import _parallel
from infofrag.fragments import information_bound as information_lib
from infofrag.utils import checks

DEFAULT_WORK_BYTES = 256 * 2**20

MonteCarloComparison = collections.namedtuple(
    "MonteCarloComparison",
    ["nmi", "nmi_error", "vi", "vi_error", "info_a", "info_aa", "info_b", "info_bb", "info_ab",
     "errors"])
MonteCarloComparison.__doc__ = """NMI / VI of two full latent spaces with standard errors.

nmi, nmi_error : float, dimensionless.
vi, vi_error : float, bits.
info_a, info_aa, info_b, info_bb, info_ab : float, bits: I(U), I(U, U'), I(V),
  I(V, V'), I(U, V).
errors : dict name -> standard error (bits) of each of the five informations.
"""


def _log_likelihoods(samples, centred_mus, precisions, constants):
  """ln p(u_s | x_j) up to the shared -d/2 ln(2 pi), for a chunk of data points.

  (u - mu)^2 / s2 expands into u^2 . w - 2 u . (mu w) + mu^2 . w with w = 1/s2,
  so the [S, J] matrix is two matrix products instead of an [S, J, d] array.

  Parameters
  ----------
  samples : [S, d] float64, centred like the means.
  centred_mus, precisions : [J, d] float64.
  constants : [J] float64, sum_k (mu^2 w + logvar).

  Returns
  -------
  [S, J] float64, nats.
  """
  quadratic = np.square(samples) @ precisions.T
  quadratic -= 2.0 * (samples @ (centred_mus * precisions).T)
  quadratic += constants[None, :]
  quadratic *= -0.5
  return quadratic


def _per_sample_terms(mus, logvars, num_samples, rng, max_memory_bytes):
  """ln p(u|x_i) - ln mean_j p(u|x_j) for each of `num_samples` draws ([S] float64, nats)."""
  num_points, num_dims = mus.shape
  centre = mus.mean(axis=0)
  centred = mus - centre
  precisions = np.exp(-logvars)
  constants = np.sum(np.square(centred) * precisions + logvars, axis=1)
  chosen = rng.integers(num_points, size=num_samples)
  noise = rng.standard_normal((num_samples, num_dims))
  samples = centred[chosen] + np.exp(0.5 * logvars[chosen]) * noise
  own = -0.5 * np.sum(np.square(noise) + logvars[chosen], axis=1)
  # Work area: about three [S_batch, J] float64 matrices.
  batch = int(min(num_samples, 2000))
  chunk = int(max(1, min(num_points, max_memory_bytes // (3 * 8 * batch))))
  terms = np.empty(num_samples)
  for s_start in range(0, num_samples, batch):
    part = samples[s_start:s_start + batch]
    running_max = np.full(part.shape[0], -np.inf)
    running_sum = np.zeros(part.shape[0])
    for j_start in range(0, num_points, chunk):
      j_stop = min(num_points, j_start + chunk)
      logp = _log_likelihoods(part, centred[j_start:j_stop], precisions[j_start:j_stop],
                              constants[j_start:j_stop])
      new_max = np.maximum(running_max, logp.max(axis=1))
      running_sum = running_sum * np.exp(running_max - new_max)
      running_sum += np.exp(logp - new_max[:, None]).sum(axis=1)
      running_max = new_max
    log_mean = np.log(running_sum) + running_max - np.log(num_points)
    terms[s_start:s_start + batch] = own[s_start:s_start + batch] - log_mean
  return terms


def _check_samples(num_samples):
  if int(num_samples) < 2:
    raise ValueError(f"num_samples must be at least 2 to estimate a standard error; got {num_samples}.")
  return int(num_samples)


def monte_carlo_information(mus: npt.ArrayLike, logvars: npt.ArrayLike, num_samples: int = 20000,
                            seed: int | np.random.SeedSequence | np.random.Generator = 0,
                            max_memory_bytes: int = DEFAULT_WORK_BYTES) -> tuple[float, float]:
  """Monte Carlo estimate of I(U; X) for a full latent space, with its standard error.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    Posterior means and log-variances (natural log) of the whole dataset (N may be tens
    of thousands).
  num_samples : int, optional
    Number of draws (i, u). The standard error shrinks as 1/sqrt(num_samples).
  seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
    Random stream for the draws.
  max_memory_bytes : int, optional
    Work-area budget (bytes); the data points are visited in chunks that fit it.

  Returns
  -------
  bits : float
    The estimate of I(U; X), bits.
  standard_error : float
    Sample std of the per-draw terms (ddof=1) / sqrt(num_samples) / ln 2, bits.
  """
  mus, logvars = checks.as_posteriors(mus, logvars)
  num_samples = _check_samples(num_samples)
  rng = np.random.default_rng(seed)
  # The [S, d] x [d, J] products are thin; threaded BLAS only spins on them.
  with _parallel.single_threaded_blas():
    terms = _per_sample_terms(mus, logvars, num_samples, rng,
                              checks.check_memory_budget(max_memory_bytes))
  bits = float(terms.mean() / information_lib.LN2)
  error = float(terms.std(ddof=1) / np.sqrt(num_samples) / information_lib.LN2)
  return bits, error


def propagate_nmi_vi(info_a: float, info_aa: float, info_b: float, info_bb: float, info_ab: float,
                     errors: Mapping[str, float]) -> tuple[float, float, float, float]:
  """NMI and VI with first-order propagation of independent standard errors.

  With mutual = I_a + I_b - I_ab, H_a = 2 I_a - I_aa, H_b = 2 I_b - I_bb and
  NMI = mutual / sqrt(H_a H_b), the partial derivatives are
    dNMI/dI_a = 1/sqrt(H_a H_b) - NMI / H_a,   dNMI/dI_aa = NMI / (2 H_a),
    dNMI/dI_b = 1/sqrt(H_a H_b) - NMI / H_b,   dNMI/dI_bb = NMI / (2 H_b),
    dNMI/dI_ab = -1/sqrt(H_a H_b),
  and, the five estimates being independent, var(NMI) = sum (dNMI/dI)^2 var(I).
  VI = 2 I_ab - I_aa - I_bb, so var(VI) = 4 var(I_ab) + var(I_aa) + var(I_bb):
  variances of independent terms add, whatever the sign of the term.

  Parameters
  ----------
  info_a, info_aa, info_b, info_bb, info_ab : float
    The five informations, bits.
  errors : mapping of str to float
    Standard error of each, keys "info_a", "info_aa", "info_b", "info_bb", "info_ab", bits.

  Returns
  -------
  nmi, nmi_error : float
    NMI and its standard error, dimensionless.
  vi, vi_error : float
    VI and its standard error, bits.
  """
  entropy_a = 2.0 * info_a - info_aa
  entropy_b = 2.0 * info_b - info_bb
  if entropy_a <= 0 or entropy_b <= 0:
    raise ValueError(
        "A latent space carries no information by the Monte Carlo estimate (2 I(U) - I(U,U') <= 0); "
        "NMI is undefined. Use more samples or check the encoder outputs.")
  root = np.sqrt(entropy_a * entropy_b)
  nmi = (info_a + info_b - info_ab) / root
  gradient = {
      "info_a": 1.0 / root - nmi / entropy_a,
      "info_aa": nmi / (2.0 * entropy_a),
      "info_b": 1.0 / root - nmi / entropy_b,
      "info_bb": nmi / (2.0 * entropy_b),
      "info_ab": -1.0 / root,
  }
  nmi_error = np.sqrt(sum((gradient[name] * errors[name])**2 for name in gradient))
  vi = 2.0 * info_ab - info_aa - info_bb
  vi_error = np.sqrt(4.0 * errors["info_ab"]**2 + errors["info_aa"]**2 + errors["info_bb"]**2)
  return float(nmi), float(nmi_error), float(vi), float(vi_error)


def monte_carlo_nmi_vi(mus_a: npt.ArrayLike, logvars_a: npt.ArrayLike, mus_b: npt.ArrayLike,
                       logvars_b: npt.ArrayLike, num_samples: int = 20000, seed: int = 0,
                       max_memory_bytes: int = DEFAULT_WORK_BYTES) -> MonteCarloComparison:
  """NMI and VI of two full latent spaces of the same dataset, by Monte Carlo.

  I(U, U') uses the space tiled with itself ([N, 2d]: two independent messages
  from the same encoder), I(U, V) the concatenation [N, d_a + d_b]. Each of the
  five informations gets its own independent random stream, so their errors
  are independent and propagate as documented in `propagate_nmi_vi`.

  Parameters
  ----------
  mus_a, logvars_a : array_like of shape (N, d_a)
    Means and log-variances (natural log) of the first space.
  mus_b, logvars_b : array_like of shape (N, d_b)
    The second space, on the same N data points in the same order.
  num_samples : int, optional
    Draws per information estimate.
  seed : int, optional
    Root of the five random streams.
  max_memory_bytes : int, optional
    Work-area budget, bytes.

  Returns
  -------
  MonteCarloComparison
    NMI, VI (bits), their standard errors and the five informations (bits).
  """
  mus_a, logvars_a = checks.as_posteriors(mus_a, logvars_a)
  mus_b, logvars_b = checks.as_posteriors(mus_b, logvars_b)
  if mus_a.shape[0] != mus_b.shape[0]:
    raise ValueError(
        f"Both latent spaces must embed the same data points; got N = {mus_a.shape[0]} and {mus_b.shape[0]}.")
  spaces = {
      "info_a": (mus_a, logvars_a),
      "info_aa": (np.tile(mus_a, (1, 2)), np.tile(logvars_a, (1, 2))),
      "info_b": (mus_b, logvars_b),
      "info_bb": (np.tile(mus_b, (1, 2)), np.tile(logvars_b, (1, 2))),
      "info_ab": (np.concatenate([mus_a, mus_b], 1), np.concatenate([logvars_a, logvars_b], 1)),
  }
  streams = np.random.SeedSequence(seed).spawn(len(spaces))
  values, errors = {}, {}
  for stream, (name, (mus, logvars)) in zip(streams, spaces.items()):
    values[name], errors[name] = monte_carlo_information(
        mus, logvars, num_samples=num_samples, seed=stream, max_memory_bytes=max_memory_bytes)
  nmi, nmi_error, vi, vi_error = propagate_nmi_vi(errors=errors, **values)
  return MonteCarloComparison(nmi=nmi, nmi_error=nmi_error, vi=vi, vi_error=vi_error,
                              errors=errors, **values)
