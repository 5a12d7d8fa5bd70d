"""Chance levels of the Bhattacharyya NMI: permutation nulls on the same points.

At N points, NMI between unrelated variables is not 0: the estimator sees N points, and a
channel that tells many of them apart shares some of that with any labelling (a channel
that separates every point has NMI sqrt(H(Y) / log2 N) with any factor Y). The chance
level of a value is the 95th percentile of the same estimate after the relation is
destroyed by shuffling points:

- channel against factor: the points' factor tuples are shuffled (one shuffle per draw,
  shared by every channel and factor, so the null of a mean over channels, or of a
  channel's best factor, is read off the same draws);
- channel against channel: the points of one of the two channels are shuffled.

The formulas are those of `nmi_vi` with D_ii = 0 (every fingerprint): with E = exp(-D),
I(D) = -mean_i log2(mean_j E_ij), I(2 D) from E^2, and I(Da + Db) from the row sums of
Ea * Eb. Shuffling moves only the I(Da + Db) term, so each draw costs one pass over the
pairs that it changes; nothing else is recomputed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag.fragments import bhattacharyya
from infofrag.utils import checks

CHANCE_QUANTILE = 0.95
# The mark tables put after a value not above its chance level (the report shades it).
CHANCE_MARK = "\u2020"
# Below this entropy term (bits) NMI is undefined and set to 0, as in `nmi_vi`.
_MIN_ENTROPY_BITS = 1e-12
# exp(-D) of two different factor values (`bhattacharyya.factor_fingerprints`).
_MISMATCH = float(np.exp(-bhattacharyya.FACTOR_MISMATCH_DISTANCE))
# One gathered coefficient costs about this many multiply-adds of a matrix product
# (measured on 2-core VMs: a random gather ~40 ns, a BLAS multiply-add ~0.08 ns).
_GATHER_COST = 500.0


def permutations(num_points: int, count: int, seed: int) -> np.ndarray:
  """ndarray of shape (count, num_points), int64: `count` seeded random permutations."""
  rng = np.random.default_rng(seed)
  return np.argsort(rng.random((count, num_points)), axis=1)


def _bits(row_sums: np.ndarray, num_points: int) -> np.ndarray:
  """-mean_i log2(row_sum_i / N) over the last axis."""
  return -np.mean(np.log2(row_sums / num_points), axis=-1)


def _nmi(info_a, info_aa, info_b, info_bb, info_ab):
  """NMI from the five information terms (broadcasting), 0 where undefined."""
  entropy_a = 2.0 * info_a - info_aa
  entropy_b = 2.0 * info_b - info_bb
  defined = (entropy_a > _MIN_ENTROPY_BITS) & (entropy_b > _MIN_ENTROPY_BITS)
  denominator = np.sqrt(np.where(defined, entropy_a * entropy_b, 1.0))
  return np.where(defined, (info_a + info_b - info_ab) / denominator, 0.0)


def _coefficients(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
  """exp(-D), ndarray of shape (C, N, N), float32, of each channel.

  Single precision halves the memory traffic of the gathers that dominate the nulls; every
  sum over points is accumulated in float64, so a null NMI is off by ~1e-7 at most.
  """
  return np.exp(-bhattacharyya.channel_fingerprints(mean, logvar, dtype=np.float32))


def _class_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(rows, columns, starts): every pair of points with the same label, rows increasing.

  ``starts[u]`` is where row u's pairs begin (for `np.add.reduceat`).
  """
  num_points = labels.size
  _, classes = np.unique(labels, return_inverse=True)
  order = np.argsort(classes, kind="stable")
  counts = np.bincount(classes)
  first = np.concatenate([[0], np.cumsum(counts)[:-1]])
  per_row = counts[classes]
  rows = np.repeat(np.arange(num_points), per_row)
  starts = np.cumsum(per_row) - per_row
  within = np.arange(rows.size) - np.repeat(starts, per_row)
  columns = order[np.repeat(first[classes], per_row) + within]
  return rows, columns, starts


def _same_class_sums(coefficients: np.ndarray, labels: np.ndarray,
                     shuffles: np.ndarray) -> np.ndarray:
  """T[p, c, u] = sum over v with labels[v] == labels[u] of E_c[s_p(u), s_p(v)].

  This is the row sum over the points that share u's factor value once the points are
  shuffled by s_p; the cheaper of two exact ways is used: a matrix product with the
  one-hot labels (cost N^2 K per draw) or a gather of the same-class pairs (sum_k n_k^2).
  """
  count, num_points = shuffles.shape
  channels = coefficients.shape[0]
  _, classes = np.unique(labels, return_inverse=True)
  num_classes = int(classes.max()) + 1
  pairs = float(np.sum(np.bincount(classes) ** 2))
  result = np.empty((count, channels, num_points))
  if num_points * num_points * num_classes <= _GATHER_COST * pairs:
    # T[p, u] = (E @ H_p)[s_p(u), labels[u]] with H_p[w, k] = [labels[s_p^-1(w)] == k].
    inverse = np.argsort(shuffles, axis=1)
    onehot = np.zeros((num_points, count * num_classes), dtype=coefficients.dtype)
    onehot[np.tile(np.arange(num_points), count),
           (np.arange(count)[:, None] * num_classes + classes[inverse]).ravel()] = 1.0
    for c in range(channels):
      product = (coefficients[c] @ onehot).reshape(num_points, count, num_classes)
      result[:, c, :] = product[shuffles, np.arange(count)[:, None], classes[None, :]]
    return result
  rows, columns, starts = _class_pairs(classes)
  flat = coefficients.reshape(channels, num_points * num_points)
  for p in range(count):
    shuffle = shuffles[p]
    picked = flat[:, shuffle[rows] * num_points + shuffle[columns]]
    result[p] = np.add.reduceat(picked, starts, axis=1, dtype=np.float64)
  return result


def factor_nmi_null(mean: npt.ArrayLike, logvar: npt.ArrayLike, factors: npt.ArrayLike, *,
                    shuffles: np.ndarray, channels_per_block: int = 8) -> np.ndarray:
  """NMI of each channel with each factor after the points' factor tuples are shuffled.

  Parameters
  ----------
  mean, logvar : array_like of shape (N, C)
      Posterior means and log-variances of C channels on N points.
  factors : array_like of shape (N, F), int
      Factor values of the points (as for `factor_fingerprints`).
  shuffles : ndarray of shape (P, N), int
      One permutation of the points per draw (`permutations`); the identity gives the
      unshuffled NMI, equal to `pairwise_nmi_vi(channels, factor_fingerprints(factors))`.
  channels_per_block : int
      Channels whose N x N coefficients are held at once (8 MB each at N = 1000).

  Returns
  -------
  ndarray of shape (P, C, F)
  """
  mean, logvar = checks.as_posteriors(mean, logvar)
  factors = np.asarray(factors)
  if factors.ndim == 1:
    factors = factors[:, None]
  num_points, channels = mean.shape
  shuffles = np.asarray(shuffles, dtype=np.int64)
  if factors.shape[0] != num_points or shuffles.ndim != 2 or shuffles.shape[1] != num_points:
    raise ValueError(f"factors must be (N, F) and shuffles (P, N) with N = {num_points}; got "
                     f"{factors.shape} and {shuffles.shape}.")
  info_b, info_bb = [], []
  for labels in factors.T:
    _, classes = np.unique(labels, return_inverse=True)
    size = np.bincount(classes)[classes].astype(np.float64)
    info_b.append(_bits(size + (num_points - size) * _MISMATCH, num_points))
    info_bb.append(_bits(size + (num_points - size) * _MISMATCH ** 2, num_points))
  info_b, info_bb = np.array(info_b), np.array(info_bb)
  result = np.empty((shuffles.shape[0], channels, factors.shape[1]))
  for start in range(0, channels, channels_per_block):
    block = slice(start, min(channels, start + channels_per_block))
    coefficients = _coefficients(mean[:, block], logvar[:, block])
    row_sums = coefficients.sum(axis=2, dtype=np.float64)
    info_a = _bits(row_sums, num_points)
    info_aa = _bits(np.square(coefficients).sum(axis=2, dtype=np.float64), num_points)
    for f, labels in enumerate(factors.T):
      same = _same_class_sums(coefficients, labels, shuffles)
      # The other pairs enter with E_b = exp(-D_mismatch): row sum minus the same-class part.
      shuffled_rows = row_sums[:, shuffles].transpose(1, 0, 2)
      joint = _bits(same + _MISMATCH * (shuffled_rows - same), num_points)
      result[:, block, f] = _nmi(info_a, info_aa, info_b[f], info_bb[f], joint)
  return result


def pair_nmi_null(mean: npt.ArrayLike, logvar: npt.ArrayLike, pairs: npt.ArrayLike, *,
                  shuffles: np.ndarray) -> np.ndarray:
  """NMI of channel a with channel b after b's points are shuffled, one pair per draw.

  Parameters
  ----------
  mean, logvar : array_like of shape (N, C)
  pairs : array_like of shape (P, 2), int
      The channels (a, b) of each draw.
  shuffles : ndarray of shape (P, N), int
      The permutation of b's points in each draw.

  Returns
  -------
  ndarray of shape (P,)
  """
  mean, logvar = checks.as_posteriors(mean, logvar)
  pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
  shuffles = np.asarray(shuffles, dtype=np.int64)
  num_points = mean.shape[0]
  if shuffles.shape != (pairs.shape[0], num_points):
    raise ValueError(f"shuffles must be (P, N) = ({pairs.shape[0]}, {num_points}); got "
                     f"{shuffles.shape}.")
  used = np.unique(pairs)
  position = np.full(mean.shape[1], -1)
  position[used] = np.arange(used.size)
  coefficients = _coefficients(mean[:, used], logvar[:, used])
  info = _bits(coefficients.sum(axis=2, dtype=np.float64), num_points)
  info_2 = _bits(np.square(coefficients).sum(axis=2, dtype=np.float64), num_points)
  result = np.empty(pairs.shape[0])
  for p, (a, b) in enumerate(position[pairs]):
    shuffle = shuffles[p]
    shuffled = coefficients[b][shuffle][:, shuffle]
    joint = _bits(np.multiply(coefficients[a], shuffled).sum(axis=1, dtype=np.float64),
                  num_points)
    result[p] = _nmi(info[a], info_2[a], info[b], info_2[b], joint)
  return result


def chance_level(draws: npt.ArrayLike, quantile: float = CHANCE_QUANTILE) -> np.ndarray:
  """The `quantile` of null draws over the first axis (NaN where every draw is NaN)."""
  draws = np.asarray(draws, dtype=np.float64)
  if draws.shape[0] == 0:
    return np.full(draws.shape[1:], np.nan)
  with np.errstate(all="ignore"):
    import warnings
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
      return np.nanquantile(draws, quantile, axis=0)
