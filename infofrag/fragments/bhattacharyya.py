"""Bhattacharyya distances between diagonal Gaussian posteriors ("fingerprints").

A channel (or a group of channels) embeds N fingerprint points as Gaussians
N(mu_i, diag(exp(logvar_i))). Its fingerprint is the [N, N] matrix of
Bhattacharyya distances (SPEC section 5), per dimension k with s2 = exp(logvar):

  D_ij = sum_k 1/8 (mu_ik - mu_jk)^2 / m2 + 1/2 [ln m2 - (logvar_ik + logvar_jk) / 2],
  m2 = (s2_ik + s2_jk) / 2.

Everything is computed row block by row block, so memory is O(N^2) for the
output plus a bounded work area; no [N, N, d, d] (or [N, N, d]) arrays appear.
"""

import numpy as np

from infofrag.fragments import _parallel
from infofrag.fragments import _validation

# Distance used for "impossible" pairs of a ground-truth factor: -ln(1e-10) (SPEC 5).
FACTOR_MISMATCH_DISTANCE = -np.log(1e-10)
DEFAULT_WORK_BYTES = 256 * 2**20
# Blocks above this size stop fitting the allocator's reuse and cache; more rows gain nothing.
_MAX_BLOCK_BYTES = 16 * 2**20


def _rows_per_block(bytes_per_row, max_memory_bytes):
  """Number of rows whose work area fits the budget (at least one)."""
  budget = min(max_memory_bytes, _MAX_BLOCK_BYTES)
  return int(max(1, min(2**31, budget // max(1, bytes_per_row))))


class LazyFingerprints:
  """Fingerprints of channel groups, computed on demand one block of rows at a time.

  Use it instead of a materialised [G, N, N] array when G * N^2 floats do not
  fit in memory (e.g. 2000 channels at N = 1000 would need 16 GB in float64):
  `pairwise_nmi_vi` and `information` accept it and only ever hold a few rows.

  Parameters
  ----------
  mus, logvars : [N, d] float arrays
    Posterior means and log-variances (natural log) of N points in d channels.
  groups : None or list of lists of int
    Channel groups (subspaces). None: one group per channel, i.e. G = d.

  Attributes
  ----------
  num_fingerprints : int, G.
  num_points : int, N.
  """

  def __init__(self, mus, logvars, groups=None):
    mus, logvars = _validation.as_posteriors(mus, logvars)
    self._groups = _validation.as_groups(groups, mus.shape[1])
    columns = np.concatenate(self._groups)
    sizes = np.array([group.size for group in self._groups])
    self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    self._one_dim_each = bool(np.all(sizes == 1))
    # Per gathered dimension k, transposed to [K, N] so blocks come out [K, r, N]:
    #   D_k = 1/2 [ (m_i - m_j)^2 / (s2_i + s2_j) + log1p((sigma_i - sigma_j)^2 c_i c_j) ]
    # with m = mu / sqrt(2) and c = 1 / (sqrt(2) sigma). This is SPEC 5's formula
    # rewritten: ln m2 - (logvar_i + logvar_j)/2 = ln(1 + (sigma_i - sigma_j)^2 / (2 sigma_i sigma_j)),
    # so both terms are >= 0 exactly, D_ii = 0 exactly, and no log of a ratio
    # near 1 loses precision.
    logvars_t = np.ascontiguousarray(logvars[:, columns].T)
    self._scaled_mus_t = np.ascontiguousarray(mus[:, columns].T) / np.sqrt(2.0)
    self._vars_t = np.exp(logvars_t)
    self._sigmas_t = np.exp(0.5 * logvars_t)
    self._inv_scale_t = 1.0 / (np.sqrt(2.0) * self._sigmas_t)
    self.num_fingerprints = len(self._groups)
    self.num_points = mus.shape[0]

  @property
  def groups(self):
    """List of int64 index arrays, one per fingerprint."""
    return [group.copy() for group in self._groups]

  def bytes_per_row(self):
    """Approximate work-area bytes needed per row of a block (float64)."""
    return 8 * self.num_points * (2 * self._scaled_mus_t.shape[0] + self.num_fingerprints)

  def _twice_dimension_terms(self, start, stop, out, first_column=0, work=None):
    """2 D_k for every gathered dimension k, into out [K, r, N - first_column].

    work : optional flat float64 buffer of at least out.size elements, reused
      between calls to spare the allocation and page faults.
    """
    rows, columns = slice(start, stop), slice(first_column, None)
    if work is None or work.size < out.size:
      work = np.empty(out.size)
    work = work[:out.size].reshape(out.shape)
    # Every step works in place on one of two buffers: this is the hot loop.
    np.subtract(self._scaled_mus_t[:, rows, None], self._scaled_mus_t[:, None, columns], out=out)
    np.square(out, out=out)
    np.add(self._vars_t[:, rows, None], self._vars_t[:, None, columns], out=work)
    out /= work
    np.subtract(self._sigmas_t[:, rows, None], self._sigmas_t[:, None, columns], out=work)
    np.square(work, out=work)
    work *= self._inv_scale_t[:, rows, None]
    work *= self._inv_scale_t[:, None, columns]
    np.log1p(work, out=work)
    out += work
    return out

  def rows(self, start, stop, out=None, first_column=0, work=None):
    """Distances from points start..stop-1 to points first_column..N-1.

    Parameters
    ----------
    start, stop : int, row range.
    out : optional [G, stop - start, N - first_column] float64 array to write into.
    first_column : int, skip the columns before it (used to build only one triangle).
    work : optional flat float64 scratch buffer reused between calls.

    Returns
    -------
    [G, stop - start, N - first_column] float64 array, nats (D >= 0, D_ii = 0).
    """
    stop = min(stop, self.num_points)
    shape = (self.num_fingerprints, stop - start, self.num_points - first_column)
    if out is None:
      out = np.empty(shape)
    if self._one_dim_each:
      self._twice_dimension_terms(start, stop, out, first_column, work)
    else:
      terms = np.empty((self._scaled_mus_t.shape[0],) + shape[1:])
      self._twice_dimension_terms(start, stop, terms, first_column, work)
      np.add.reduceat(terms, self._offsets, axis=0, out=out)
    out *= 0.5
    return out


class ArrayFingerprints:
  """Adapter giving a materialised [G, N, N] fingerprint array the `rows` interface."""

  def __init__(self, distances):
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

  def bytes_per_row(self):
    """Work-area bytes per row (slicing makes no copy)."""
    return 0

  def rows(self, start, stop):
    """[G, stop - start, N] view of the distances, nats."""
    return self._distances[:, start:stop, :]


def as_fingerprint_source(fingerprints):
  """Wraps an array as ArrayFingerprints; passes LazyFingerprints-like objects through."""
  if hasattr(fingerprints, "rows") and hasattr(fingerprints, "num_points"):
    return fingerprints
  return ArrayFingerprints(fingerprints)


def _materialise(source, dtype, max_memory_bytes, num_threads=None):
  """Builds the full [G, N, N] array from a LazyFingerprints (threads over row blocks).

  Only the upper triangle is computed (block rows start..stop, columns start..N)
  and mirrored, which halves the work and makes the result exactly symmetric.
  """
  count, num_points = source.num_fingerprints, source.num_points
  result = np.empty((count, num_points, num_points), dtype=dtype)
  num_threads = _parallel.resolve_num_threads(num_threads)
  step = _rows_per_block(source.bytes_per_row() + 8 * count * num_points, max_memory_bytes // num_threads)
  step = min(step, num_points)
  starts = list(range(0, num_points, step))
  num_workers = min(num_threads, len(starts))

  def fill(worker):
    work = np.empty(source.bytes_per_row() * step // 8)
    own = np.empty(count * step * num_points)
    # Blocks are dealt out round-robin: later blocks are shorter (triangle).
    for start in starts[worker::num_workers]:
      stop = min(num_points, start + step)
      # The block gets its own buffer: mirroring from `result` into `result`
      # would make numpy copy the source first (it cannot rule out overlap).
      shape = (count, stop - start, num_points - start)
      block = source.rows(start, stop, out=own[:np.prod(shape)].reshape(shape), first_column=start,
                          work=work)
      square = block[:, :, :stop - start]
      square[...] = np.triu(square) + np.swapaxes(np.triu(square, 1), 1, 2)  # exactly symmetric
      result[:, start:stop, start:] = block
      result[:, stop:, start:stop] = block[:, :, stop - start:].transpose(0, 2, 1)

  _parallel.run_workers(fill, num_workers)
  return result


def bhattacharyya_distances(mus, logvars, max_memory_bytes=DEFAULT_WORK_BYTES):
  """Bhattacharyya distances between N diagonal Gaussians in d dimensions.

  Parameters
  ----------
  mus, logvars : [N, d] float arrays
    Means and log-variances (natural log) of the Gaussians.
  max_memory_bytes : int
    Work-area budget besides the [N, N] output.

  Returns
  -------
  [N, N] float64, nats: symmetric, zero diagonal, >= 0. exp(-D) is the
  Bhattacharyya coefficient in (0, 1]. Time O(N^2 d).
  """
  mus, logvars = _validation.as_posteriors(mus, logvars)
  source = LazyFingerprints(mus, logvars, groups=[np.arange(mus.shape[1])])
  return _materialise(source, np.float64, _validation.check_memory_budget(max_memory_bytes))[0]


def channel_fingerprints(mus, logvars, groups=None, dtype=np.float64,
                         max_memory_bytes=DEFAULT_WORK_BYTES):
  """One fingerprint per latent channel (or per channel group) of encoder outputs.

  Parameters
  ----------
  mus, logvars : [N, C] float arrays
    Encoder means and log-variances of N fingerprint points, C channels.
  groups : None or list of lists of int
    None: one fingerprint per channel (G = C). Otherwise one fingerprint per
    group, treating the group's channels as one subspace (e.g. [[0, 1], [2]]).
  dtype : float64 (default) or float32
    Storage type of the result (computed in float64 either way).
  max_memory_bytes : int
    Work-area budget besides the output.

  Returns
  -------
  [G, N, N] array of Bhattacharyya distances, nats.
  """
  dtype = _validation.as_float_dtype(dtype)
  source = LazyFingerprints(mus, logvars, groups)
  return _materialise(source, dtype, _validation.check_memory_budget(max_memory_bytes))


def factor_fingerprints(labels):
  """Ground-truth factors as channels: D = 0 for equal labels, -ln(1e-10) otherwise.

  Parameters
  ----------
  labels : [N, F] (or [N]) integer array
    Factor values of the N fingerprint points.

  Returns
  -------
  [F, N, N] float64, nats; the same format as `channel_fingerprints`, so
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
