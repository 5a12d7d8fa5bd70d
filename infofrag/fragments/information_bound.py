"""Information a channel carries about the fingerprint set (Kolchinsky & Tracey bound).

  I(D) = - mean_i log2( mean_j exp(-D_ij) )        (bits, Kolchinsky & Tracey's bound as used by the paper)

computed with a per-row log-sum-exp so it stays exact when every exp(-D_ij)
with j != i underflows (very confident channels). The value lies in
[0, log2 N] when D_ii = 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.fragments.bhattacharyya import Fingerprints

LN2 = np.log(2.0)
DEFAULT_WORK_BYTES = 256 * 2**20


def row_log_sum_exp(neg_distances: npt.ArrayLike) -> np.ndarray:
  """log sum_j exp(x_ij) along the last axis, stable for any finite x.

  Parameters
  ----------
  neg_distances : array_like of shape (..., N)
    x = -D, nats.

  Returns
  -------
  ndarray of shape (...)
    float64, nats.
  """
  neg_distances = np.asarray(neg_distances, dtype=np.float64)
  row_max = np.max(neg_distances, axis=-1, keepdims=True)
  row_max = np.where(np.isfinite(row_max), row_max, 0.0)
  summed = np.sum(np.exp(neg_distances - row_max), axis=-1)
  with np.errstate(divide="ignore"):
    return np.log(summed) + row_max[..., 0]


def bits_from_row_lse(row_lse_mean: npt.ArrayLike, num_points: int) -> np.ndarray:
  """Turns mean_i logsumexp_j(-D_ij) (nats) into I = -mean_i log2 mean_j exp(-D_ij) (bits).

  Parameters
  ----------
  row_lse_mean : array_like
    Mean over rows i of logsumexp_j(-D_ij), nats.
  num_points : int
    N, the number of points.

  Returns
  -------
  ndarray
    Information, bits (same shape as `row_lse_mean`).
  """
  return (np.log(num_points) - row_lse_mean) / LN2


def _information_of_array(distances, max_memory_bytes):
  """I(D) for a [..., N, N] array, chunked over the leading axes."""
  num_points = distances.shape[-1]
  leading = distances.shape[:-2]
  flat = distances.reshape((-1, num_points, num_points))
  result = np.empty(flat.shape[0], dtype=np.float64)
  # Three float64 temporaries of one [N, N] matrix per fingerprint in a chunk.
  per_item = 3 * 8 * num_points * num_points
  step = max(1, max_memory_bytes // per_item)
  for start in range(0, flat.shape[0], step):
    chunk = -np.asarray(flat[start:start + step], dtype=np.float64)
    result[start:start + step] = bits_from_row_lse(row_log_sum_exp(chunk).mean(axis=-1), num_points)
  return result.reshape(leading)


def _information_of_zero_diagonal_source(source, max_memory_bytes):
  """I(D) of a LazyFingerprints: D_ii = 0 = min_j D_ij, so each row sum of exp(-D) is in [1, N]."""
  num_points = source.num_points
  rows = int(max(1, min(num_points, max_memory_bytes // (8 * num_points))))
  block = np.empty((rows, num_points))
  scratch = source.new_scratch()
  log_sums = np.zeros(source.num_fingerprints)
  for group_index in range(source.num_fingerprints):
    for start in range(0, num_points, rows):
      stop = min(num_points, start + rows)
      coefficients = source.fill_coefficient_rows(group_index, start, stop, block[:stop - start],
                                                  scratch)
      log_sums[group_index] += np.log(coefficients.sum(axis=1)).sum()
  return bits_from_row_lse(log_sums / num_points, num_points)


def _information_of_source(source, max_memory_bytes):
  """I(D) for every fingerprint of a row-block source ([G] bits)."""
  if getattr(source, "has_zero_diagonal", False):
    return _information_of_zero_diagonal_source(source, min(max_memory_bytes, 2**24))
  num_points = source.num_points
  per_row = source.bytes_per_row() + 3 * 8 * num_points * source.num_fingerprints
  step = max(1, max_memory_bytes // per_row)
  lse_sum = np.zeros(source.num_fingerprints, dtype=np.float64)
  for start in range(0, num_points, step):
    block = source.rows(start, min(num_points, start + step))
    lse_sum += row_log_sum_exp(-np.asarray(block, dtype=np.float64)).sum(axis=-1)
  return bits_from_row_lse(lse_sum / num_points, num_points)


def information(distances: Fingerprints, max_memory_bytes: int = DEFAULT_WORK_BYTES) -> np.ndarray:
  """Information about the fingerprint set carried by each fingerprint, in bits.

  Parameters
  ----------
  distances : array_like of shape (..., N, N), or LazyFingerprints
    Bhattacharyya distances, nats (with `LazyFingerprints` the result has shape (G,)).
  max_memory_bytes : int, optional
    Work-area budget (bytes); the input is processed in chunks that fit it.

  Returns
  -------
  ndarray of shape (...)
    float64, bits (a 0-d array for a single (N, N) input). Pass 2 * D for
    I(U, U'), the information of two independent messages from the same channel,
    and Da + Db for I(U, V).
  """
  max_memory_bytes = checks.check_memory_budget(max_memory_bytes)
  if hasattr(distances, "rows") and hasattr(distances, "num_points"):
    return _information_of_source(distances, max_memory_bytes)
  distances = np.asarray(distances)
  if distances.ndim < 2 or distances.shape[-1] != distances.shape[-2] or distances.shape[-1] == 0:
    raise ValueError(f"distances must have shape [..., N, N] with N >= 1; got {distances.shape}.")
  return _information_of_array(distances, max_memory_bytes)


__all__ = ["information", "row_log_sum_exp", "bits_from_row_lse", "LN2"]
