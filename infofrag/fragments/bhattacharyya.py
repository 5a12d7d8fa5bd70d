"""Bhattacharyya distances between diagonal Gaussian posteriors ("fingerprints").

A channel (or a group of channels) embeds N fingerprint points as Gaussians
N(mu_i, diag(exp(logvar_i))). Its fingerprint is the [N, N] matrix of
Bhattacharyya distances (the paper's Bhattacharyya estimates), per dimension k with s2 = exp(logvar):

  D_ij = sum_k 1/8 (mu_ik - mu_jk)^2 / m2 + 1/2 [ln m2 - (logvar_ik + logvar_jk) / 2],
  m2 = (s2_ik + s2_jk) / 2.

Everything is computed row block by row block, so memory is O(N^2) for the
output plus a bounded work area; no [N, N, d, d] (or [N, N, d]) arrays appear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from infofrag.fragments import _parallel
from infofrag.utils import checks

# Distance used for "impossible" pairs of a ground-truth factor: -ln(1e-10) (the paper's label fingerprints).
FACTOR_MISMATCH_DISTANCE = -np.log(1e-10)
DEFAULT_WORK_BYTES = 256 * 2**20
# Elements per kernel chunk (2 MiB per buffer). Smaller, L2-sized chunks make each
# elementwise pass faster but multiply the GIL hand-overs between threads, which
# cost more on 2-core VMs: measured best at 2^17-2^18 (N = 1000, 100 channels).
_CHUNK_ELEMENTS = 2**18


class _Scratch:
  """Reusable float64 chunk buffers of one thread: two work areas and a block of ones."""

  def __init__(self, size=_CHUNK_ELEMENTS):
    self._allocate(size)

  def _allocate(self, size):
    self.size = size
    self.first, self.second, self.ones = np.empty(size), np.empty(size), np.ones(size)

  def views(self, shape):
    """(first, second, ones) as arrays of `shape`."""
    size = shape[0] * shape[1]
    if self.size < size:
      self._allocate(size)
    return tuple(buffer[:size].reshape(shape) for buffer in (self.first, self.second, self.ones))


class LazyFingerprints:
  """Fingerprints of channel groups, computed on demand one block of rows at a time.

  Use it instead of a materialised [G, N, N] array when G * N^2 floats do not
  fit in memory (e.g. 2000 channels at N = 1000 would need 16 GB in float64):
  `pairwise_nmi_vi` and `information` accept it and only ever hold a few rows.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    Posterior means and log-variances (natural log) of N points in d channels.
  groups : list of lists of int, or None
    Channel groups (subspaces). None: one group per channel, i.e. G = d.

  Attributes
  ----------
  num_fingerprints : int
    G, the number of fingerprints.
  num_points : int
    N, the number of points.
  has_zero_diagonal : bool
    True: D_ii == 0 exactly, by construction.
  """

  has_zero_diagonal = True

  def __init__(self, mus: npt.ArrayLike, logvars: npt.ArrayLike,
               groups: Sequence[Sequence[int]] | None = None) -> None:
    mus, logvars = checks.as_posteriors(mus, logvars)
    self._groups = checks.as_groups(groups, mus.shape[1])
    # Per dimension k of the paper's Bhattacharyya formula, with s = exp(logvar / 2):
    #   2 D_k = (m_i - m_j)^2 / h_ij + ln(h_ij / (s_i s_j)),   m = mu / 2,  h_ij = (s_i^2 + s_j^2) / 2,
    # since ln m2 - (logvar_i + logvar_j) / 2 = ln(h_ij / (s_i s_j)). Every
    # operation is symmetric in i, j, so D == D.T exactly; the half-variances
    # are (s * s) / 2, so h_ii / (s_i s_i) == 1 and D_ii == 0 exactly; and the
    # ratio is clamped at 1 (its true minimum), so D >= 0 despite rounding.
    # Stored transposed, [d, N], so a dimension's values are contiguous.
    #
    # The three outer operations m_i - m_j, h_i + h_j and s_i s_j are rank-2
    # matrix products, [x_i, 1] [1, -y_j]^T etc.: BLAS writes them at ~0.18 ns per
    # element, where numpy's broadcasting spends ~0.5 ns on rows of <= 2000
    # elements (a fixed cost per row). Both terms of each product are exact
    # (x * 1, or 0 * 0), so the one rounding of their sum gives exactly the
    # plain difference, sum or product, which keeps D exactly symmetric with
    # D_ii = 0 (tested with several chunk and block sizes).
    sigmas = np.exp(0.5 * logvars)
    half_mus, half_vars = 0.5 * mus, 0.5 * (sigmas * sigmas)
    ones, zeros = np.ones_like(mus), np.zeros_like(mus)
    # Left factors [d, N, 2] (rows i), right factors [d, 2, N] (columns j).
    self._left = {
        "difference": np.stack([half_mus, ones], axis=-1).transpose(1, 0, 2).copy(),
        "sum": np.stack([half_vars, ones], axis=-1).transpose(1, 0, 2).copy(),
        "product": np.stack([sigmas, zeros], axis=-1).transpose(1, 0, 2).copy()}
    self._right = {
        "difference": np.stack([ones, -half_mus], axis=0).transpose(2, 0, 1).copy(),
        "sum": np.stack([ones, half_vars], axis=0).transpose(2, 0, 1).copy(),
        "product": np.stack([sigmas, zeros], axis=0).transpose(2, 0, 1).copy()}
    self.num_fingerprints = len(self._groups)
    self.num_points = mus.shape[0]

  @property
  def groups(self) -> list[np.ndarray]:
    """List of int64 index arrays, one per fingerprint."""
    return [group.copy() for group in self._groups]

  def bytes_per_row(self) -> int:
    """Work-area bytes needed per row of a block besides the output (scratch is fixed-size)."""
    return 0

  def _quadratic_and_ratio(self, k, rows, columns, quadratic, ratio, half_var, ones):
    """Dimension k: (m_i - m_j)^2 / h_ij into `quadratic`, max(h_ij / (s_i s_j), 1) into `ratio`."""
    outer = lambda name, target: np.matmul(self._left[name][k, rows], self._right[name][k, :, columns],
                                           out=target)
    outer("difference", quadratic)
    np.square(quadratic, out=quadratic)
    outer("sum", half_var)
    quadratic /= half_var
    outer("product", ratio)
    np.divide(half_var, ratio, out=ratio)
    np.maximum(ratio, ones, out=ratio)  # an array of ones: 3x faster than the scalar 1.0

  def _twice_dimension_distance(self, k, rows, columns, out, scratch):
    """2 D_k for rows x columns of dimension k into out [r, c] (r * c <= chunk size)."""
    half_var, ratio, ones = scratch.views(out.shape)
    self._quadratic_and_ratio(k, rows, columns, out, ratio, half_var, ones)
    np.log(ratio, out=ratio)
    out += ratio
    return out

  def _twice_group_distance(self, group, rows, columns, out, scratch, extra):
    """2 D of one channel group for rows x columns into out [r, c], nats."""
    self._twice_dimension_distance(group[0], rows, columns, out, scratch)
    for k in group[1:]:
      out += self._twice_dimension_distance(k, rows, columns, extra[:out.shape[0]], scratch)
    return out

  def fill_twice_rows(self, group_index: int, start: int, stop: int, first_column: int,
                      out: np.ndarray, scratch: _Scratch | None = None) -> np.ndarray:
    """Twice the distances of one fingerprint (see `fill_rows`); the caller halves them.

    Leaving the factor 1/2 to the caller lets it fold into the next pass
    (a copy, or the exponential's argument) instead of costing one of its own.
    """
    scratch = scratch or _Scratch()
    group = self._groups[group_index]
    width = self.num_points - first_column
    step = max(1, _CHUNK_ELEMENTS // max(1, width))
    columns = slice(first_column, self.num_points)
    extra = None if group.size == 1 else np.empty((step, width))
    for chunk in range(start, stop, step):
      chunk_stop = min(stop, chunk + step)
      self._twice_group_distance(group, slice(chunk, chunk_stop), columns,
                                 out[chunk - start:chunk_stop - start], scratch, extra)
    return out

  def fill_coefficient_rows(self, group_index: int, start: int, stop: int, out: np.ndarray,
                            scratch: _Scratch | None = None, *, floor: float = -700.0) -> np.ndarray:
    """Bhattacharyya coefficients exp(-D) of one fingerprint, rows start..stop-1 x all columns.

    Computed as exp(-Q / 2) / sqrt(R) with Q = sum_k (m_i - m_j)^2 / h_ij and
    R = prod_k h_ij / (s_i s_j), which is exp(-D) without the logarithm and exponential
    pair that going through D costs (~12 ns of ~25 per element). Exact properties kept:
    the result is symmetric, 1 on the diagonal (Q = 0, R = 1) and in [0, 1].

    Parameters
    ----------
    group_index : int
      Which fingerprint.
    start, stop : int
      Row range.
    out : ndarray of shape (stop - start, N)
      Float64 array to write into.
    scratch : optional
      Per-thread scratch buffers (`new_scratch`).
    floor : float, keyword-only
      -Q / 2 is raised to at least this before exp (exp's subnormal results are ~5x slower
      to compute); below -700 the coefficients are < 1e-304, nothing next to the diagonal's 1.

    Returns
    -------
    ndarray of shape (stop - start, N)
      `out`, dimensionless coefficients.
    """
    scratch = scratch or _Scratch()
    group = self._groups[group_index]
    width = self.num_points
    step = max(1, _CHUNK_ELEMENTS // max(1, width))
    columns = slice(0, width)
    extra = None if group.size == 1 else (np.empty((step, width)), np.empty((step, width)))
    for chunk in range(start, stop, step):
      chunk_stop = min(stop, chunk + step)
      target = out[chunk - start:chunk_stop - start]
      half_var, ratio, ones = scratch.views(target.shape)
      rows = slice(chunk, chunk_stop)
      self._quadratic_and_ratio(group[0], rows, columns, target, ratio, half_var, ones)
      for k in group[1:]:
        quadratic, other = (buffer[:target.shape[0]] for buffer in extra)
        self._quadratic_and_ratio(k, rows, columns, quadratic, other, half_var, ones)
        target += quadratic
        ratio *= other
      np.multiply(target, -0.5, out=target)
      np.maximum(target, floor, out=target)
      np.exp(target, out=target)
      np.sqrt(ratio, out=ratio)
      target /= ratio
    return out

  def fill_rows(self, group_index: int, start: int, stop: int, first_column: int,
                out: np.ndarray, scratch: _Scratch | None = None) -> np.ndarray:
    """Distances of one fingerprint, rows start..stop-1 x columns first_column..N-1, into out.

    Parameters
    ----------
    group_index : int
      Which fingerprint.
    start, stop, first_column : int
      Row range and first column.
    out : ndarray of shape (stop - start, N - first_column)
      Float array (any strides); filled in chunks of rows small enough for the cache.
    scratch : optional
      Per-thread scratch buffers (`new_scratch`).

    Returns
    -------
    ndarray of shape (stop - start, N - first_column)
      `out`, distances in nats.
    """
    self.fill_twice_rows(group_index, start, stop, first_column, out, scratch)
    out *= 0.5
    return out

  def new_scratch(self) -> _Scratch:
    """Scratch buffers for one thread's calls of `channel_rows` / `fill_rows`."""
    return _Scratch()

  def channel_rows(self, group_index: int, start: int, stop: int, out: np.ndarray,
                   scratch: _Scratch | None) -> np.ndarray:
    """[stop - start, N] distances of one fingerprint, computed into out (returned)."""
    return self.fill_rows(group_index, start, stop, 0, out, scratch)

  def rows(self, start: int, stop: int, out: np.ndarray | None = None, first_column: int = 0,
           scratch: _Scratch | None = None) -> np.ndarray:
    """Distances from points start..stop-1 to points first_column..N-1.

    Parameters
    ----------
    start, stop : int
      Row range.
    out : ndarray of shape (G, stop - start, N - first_column), optional
      float64 array to write into.
    first_column : int, optional
      Skip the columns before it (used to build only one triangle).
    scratch : optional
      Per-thread scratch buffers reused between calls (`new_scratch`).

    Returns
    -------
    ndarray of shape (G, stop - start, N - first_column)
      float64 distances, nats (D >= 0, D_ii = 0).
    """
    stop = min(stop, self.num_points)
    shape = (self.num_fingerprints, stop - start, self.num_points - first_column)
    if out is None:
      out = np.empty(shape)
    scratch = scratch or _Scratch()
    for group_index in range(self.num_fingerprints):
      self.fill_rows(group_index, start, stop, first_column, out[group_index], scratch)
    return out


class ArrayFingerprints:
  """Adapter giving a materialised [G, N, N] fingerprint array the `rows` interface."""

  def __init__(self, distances: npt.ArrayLike) -> None:
    distances = np.asarray(distances)
    if distances.ndim == 2:
      distances = distances[None]
    if distances.ndim != 3 or distances.shape[1] != distances.shape[2]:
      raise ValueError(
          f"Fingerprints must be an [N, N] matrix or a [G, N, N] stack of them; got shape {distances.shape}.")
    if not np.issubdtype(distances.dtype, np.floating):
      distances = distances.astype(np.float64)
    self._distances = distances
    self.num_fingerprints = distances.shape[0]
    self.num_points = distances.shape[1]

  def bytes_per_row(self) -> int:
    """Work-area bytes per row (slicing makes no copy)."""
    return 0

  def new_scratch(self) -> None:
    """Nothing to reuse: rows are views."""
    return None

  def channel_rows(self, group_index: int, start: int, stop: int, out: np.ndarray | None = None,
                   scratch: None = None) -> np.ndarray:
    """[stop - start, N] view of one fingerprint's rows (out and scratch are unused), nats."""
    del out, scratch
    return self._distances[group_index, start:stop]

  def rows(self, start: int, stop: int) -> np.ndarray:
    """[G, stop - start, N] view of the distances, nats."""
    return self._distances[:, start:stop, :]


# What the fingerprint functions accept: a (G, N, N) or (N, N) array, or a fingerprint source.
Fingerprints = npt.ArrayLike | LazyFingerprints | ArrayFingerprints


def as_fingerprint_source(fingerprints: Fingerprints) -> LazyFingerprints | ArrayFingerprints:
  """Wraps an array as ArrayFingerprints; passes LazyFingerprints-like objects through.

  Parameters
  ----------
  fingerprints : array_like of shape (G, N, N) or (N, N), or LazyFingerprints
    Bhattacharyya distances, nats.

  Returns
  -------
  LazyFingerprints or ArrayFingerprints
    An object with the `rows` / `channel_rows` interface.
  """
  if hasattr(fingerprints, "rows") and hasattr(fingerprints, "num_points"):
    return fingerprints
  return ArrayFingerprints(fingerprints)


def _materialise(source, dtype, max_memory_bytes, num_threads=None, rows_per_block=None):
  """Builds the full [G, N, N] array from a LazyFingerprints (threads over row blocks).

  Only the upper triangle is computed (block rows start..stop, columns start..N,
  in cache-sized chunks) and the part right of the block's diagonal square is
  mirrored below it. The formula is exactly symmetric, so the result is too.
  Mirroring strips of >= 64 rows costs ~0.5 ns per element, a seventh of
  computing it.
  """
  count, num_points = source.num_fingerprints, source.num_points
  result = np.empty((count, num_points, num_points), dtype=dtype)
  num_threads = _parallel.resolve_num_threads(num_threads)
  if rows_per_block is None:
    # Per thread: a block of rows plus three chunk buffers of at most its size.
    rows_per_block = min(max(64, _CHUNK_ELEMENTS // num_points),
                         max(1, max_memory_bytes // num_threads // (4 * 8 * num_points)))
  step = int(min(num_points, rows_per_block))
  starts = list(range(0, num_points, step))
  num_workers = min(num_threads, len(starts))

  def fill(worker):
    scratch = _Scratch()
    buffer = np.empty(step * num_points)
    # Blocks are dealt out round-robin: later blocks are shorter (triangle).
    for start in starts[worker::num_workers]:
      stop = min(num_points, start + step)
      block = buffer[:(stop - start) * (num_points - start)].reshape(stop - start, num_points - start)
      for group_index in range(count):
        source.fill_twice_rows(group_index, start, stop, start, block, scratch)
        upper = result[group_index, start:stop, start:]
        np.multiply(block, 0.5, out=upper, casting="same_kind")
        # Source rows end before the target rows begin: no overlap, no hidden copy.
        result[group_index, stop:, start:stop] = upper[:, stop - start:].T

  _parallel.run_workers(fill, num_workers)
  return result


def bhattacharyya_distances(mus: npt.ArrayLike, logvars: npt.ArrayLike,
                            max_memory_bytes: int = DEFAULT_WORK_BYTES) -> np.ndarray:
  """Bhattacharyya distances between N diagonal Gaussians in d dimensions.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    Means and log-variances (natural log) of the Gaussians.
  max_memory_bytes : int, optional
    Work-area budget (bytes) besides the (N, N) output.

  Returns
  -------
  ndarray of shape (N, N)
    float64 distances, nats: symmetric, zero diagonal, >= 0. exp(-D) is the
    Bhattacharyya coefficient in (0, 1]. Time O(N^2 d).
  """
  mus, logvars = checks.as_posteriors(mus, logvars)
  source = LazyFingerprints(mus, logvars, groups=[np.arange(mus.shape[1])])
  return _materialise(source, np.float64, checks.check_memory_budget(max_memory_bytes))[0]


def channel_fingerprints(mus: npt.ArrayLike, logvars: npt.ArrayLike,
                         groups: Sequence[Sequence[int]] | None = None,
                         dtype: npt.DTypeLike = np.float64,
                         max_memory_bytes: int = DEFAULT_WORK_BYTES) -> np.ndarray:
  """One fingerprint per latent channel (or per channel group) of encoder outputs.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, C)
    Encoder means and log-variances (natural log) of N fingerprint points, C channels.
  groups : list of lists of int, or None, optional
    None: one fingerprint per channel (G = C). Otherwise one fingerprint per
    group, treating the group's channels as one subspace (e.g. [[0, 1], [2]]).
  dtype : {float64, float32}, optional
    Storage type of the result (computed in float64 either way).
  max_memory_bytes : int, optional
    Work-area budget (bytes) besides the output.

  Returns
  -------
  ndarray of shape (G, N, N)
    Bhattacharyya distances, nats.
  """
  dtype = checks.as_float_dtype(dtype)
  source = LazyFingerprints(mus, logvars, groups)
  return _materialise(source, dtype, checks.check_memory_budget(max_memory_bytes))


def factor_fingerprints(labels: npt.ArrayLike) -> np.ndarray:
  """Ground-truth factors as channels: D = 0 for equal labels, -ln(1e-10) otherwise.

  Parameters
  ----------
  labels : array_like of shape (N, F) or (N,)
    Integer factor values of the N fingerprint points.

  Returns
  -------
  ndarray of shape (F, N, N)
    float64 distances, nats; the same format as `channel_fingerprints`, so
    `pairwise_nmi_vi(channels, factors)` tells which factor each channel carries.
  """
  labels = np.asarray(labels)
  if labels.ndim == 1:
    labels = labels[:, None]
  if labels.ndim != 2 or labels.shape[0] < 1:
    raise ValueError(f"labels must be an [N, F] array of factor values; got shape {labels.shape}.")
  if not np.issubdtype(labels.dtype, np.integer):
    if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
      raise ValueError("labels must hold integer factor values (discretise continuous factors first).")
    labels = labels.astype(np.int64)
  labels_t = labels.T
  equal = labels_t[:, :, None] == labels_t[:, None, :]
  return np.where(equal, 0.0, FACTOR_MISMATCH_DISTANCE)
