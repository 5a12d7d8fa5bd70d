"""The paper's continuity score of an embedding of points ordered along a curve.

  continuity = max_i D(i, i+1) / percentile_p(D(i, i+1))

with D the Bhattacharyya distance between the posteriors of consecutive points.
A faithful embedding of a closed curve (e.g. the circle) moves in small, even
steps and scores close to 1; a tear (the curve cut open and points far apart
that should be neighbours) gives one huge step and a large score. By default the
curve is closed (the pair last -> first counts); the paper's notebook only used
the open chain (np.diag(D, k=1)), available with closed=False. Pure numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag.utils import checks


def adjacent_distances(mus: npt.ArrayLike, logvars: npt.ArrayLike, closed: bool = True) -> np.ndarray:
  """Bhattacharyya distances between consecutive points, nats.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    Posteriors (log-variances natural log) of points in curve order.
  closed : bool, optional
    Include the pair (N-1, 0).

  Returns
  -------
  ndarray of shape (N,) (closed) or (N - 1,)
    float64 distances, nats.
  """
  mus, logvars = checks.as_posteriors(mus, logvars)
  if mus.shape[0] < 2:
    raise ValueError(f"continuity needs at least 2 points in curve order; got {mus.shape[0]}.")
  following = np.arange(1, mus.shape[0] + 1) % mus.shape[0]
  if not closed:
    following = following[:-1]
  first_mus, first_logvars = mus[:following.size], logvars[:following.size]
  next_mus, next_logvars = mus[following], logvars[following]
  mean_var = 0.5 * (np.exp(first_logvars) + np.exp(next_logvars))
  half_diff = 0.5 * (first_logvars - next_logvars)
  # ln m2 - (lv_i + lv_j)/2 = ln cosh((lv_i - lv_j)/2), exact 0 for equal variances.
  log_cosh = np.logaddexp(half_diff, -half_diff) - np.log(2.0)
  terms = 0.125 * np.square(first_mus - next_mus) / mean_var + 0.5 * log_cosh
  return terms.sum(axis=-1)


def continuity(mus: npt.ArrayLike, logvars: npt.ArrayLike, percentile: float = 90,
               closed: bool = True) -> float:
  """Max adjacent Bhattacharyya distance over its `percentile`-th percentile.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    Posteriors of N points ordered along a curve.
  percentile : float, optional
    In (0, 100]; the paper's 90.
  closed : bool, optional
    The curve is closed (adjacent pairs include last -> first).

  Returns
  -------
  float
    >= 1, dimensionless; inf when the percentile distance is 0 but the maximum is not.
  """
  if not 0 < float(percentile) <= 100:
    raise ValueError(f"percentile must be in (0, 100]; got {percentile!r}.")
  steps = adjacent_distances(mus, logvars, closed=closed)
  reference = np.percentile(steps, percentile)
  largest = steps.max()
  if reference <= 0:
    return 1.0 if largest <= 0 else float("inf")
  return float(largest / reference)
