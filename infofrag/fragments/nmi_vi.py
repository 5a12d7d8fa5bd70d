"""Pairwise NMI and VI between fingerprints, all pairs at once (the paper's Bhattacharyya estimates).

For fingerprints Da, Db on the same N points (bits):
  I_a = I(Da), I_aa = I(2 Da), I_ab = I(Da + Db)
  NMI = (I_a + I_b - I_ab) / sqrt((2 I_a - I_aa)(2 I_b - I_bb))
  VI  = 2 I_ab - I_aa - I_bb

The I_ab of all pairs share one computation: for each row i,
  sum_j exp(-Da_ij - Db_ij) = exp(ma_i + mb_i) * sum_j Ea_ij Eb_ij,
with the shift ma_i = -Da_ii and Ea_ij = exp(-Da_ij - ma_i) (for fingerprints
D_ii = 0 = min_j D_ij, so E is in (0, 1] with E_ii = 1 and every sum is in
[1, N]). For row i the sums over j for every (a, b) are one matrix product
[A + 1, N] x [N, B + 1] (a symmetric rank-N update when a set is compared
with itself); the extra row of ones yields the per-channel sums, and the
diagonal of the symmetric product the sums of E^2. So all pairs cost N BLAS
products instead of A * B passes over [N, N] arrays, and the logs are taken
once per group of rows (products of values in [1, N] cannot overflow).

Coefficients below sqrt(tiny) are flushed to 0 (their products would be
subnormal, which slows BLAS ~10x); with sums >= 1 this changes nothing above
1e-150 relative. Matrices that are not fingerprints (D_ij < D_ii - 700
somewhere) overflow this path; that is detected and the computation is redone
with ma_i = max_j(-Da_ij), checking each row: pair sums small enough to be
affected by the flush, or to underflow, are recomputed exactly with a float64
log-sum-exp. Rows are processed in blocks sized to `max_memory_bytes`, split
over threads.
"""

from __future__ import annotations

import collections

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from infofrag.fragments import _parallel
from infofrag.fragments import bhattacharyya
from infofrag.fragments import information_bound as information_lib
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.fragments.bhattacharyya import Fingerprints

DEFAULT_WORK_BYTES = 1 * 2**30
# Below this entropy term (bits) a channel carries no information; its NMI is set to 0.
_MIN_ENTROPY_BITS = 1e-12

InformationTerms = collections.namedtuple(
    "InformationTerms", ["info_a", "info_aa", "info_b", "info_bb", "info_ab"])
InformationTerms.__doc__ = """Information terms of two fingerprint sets, bits.

info_a, info_aa : [A] float64, I(Da) and I(2 Da).
info_b, info_bb : [B] float64, I(Db) and I(2 Db).
info_ab : [A, B] float64, I(Da + Db).
"""


def _flush_level(dtype):
  """Coefficients below this are set to 0 before the products ([..] `dtype` units)."""
  return float(np.sqrt(np.finfo(dtype).tiny)) * 1e3


def _exponent_floor(dtype):
  """Exponents are raised to this before exp: it changes only coefficients the flush zeroes.

  exp of arguments below about -708 returns subnormals or zero through a slow path (~27 ns
  per element here against ~6), and far-apart points give many such arguments. Any argument
  below ln(flush level) yields a coefficient that is set to 0 anyway, so raising it to one
  unit below that level leaves every coefficient bit for bit as it was.
  """
  return float(np.log(_flush_level(dtype))) - 1.0


def _repair_threshold(dtype, num_points):
  """Pair sums below this may have lost relative precision > eps to flushing or underflow."""
  info = np.finfo(dtype)
  return num_points * max(_flush_level(dtype), info.tiny) / info.eps


def _exponential_block(source, start, stop, dtype, out, scratch, diagonal_shift):
  """Row-shifted Bhattacharyya coefficients of rows start..stop-1, one block per channel.

  Parameters
  ----------
  source : fingerprint source with G fingerprints on N points.
  out : [G + 1, r, N] `dtype` array. Filled with E[g, i, j] = exp(-D_gij - m_gi)
    (in (0, 1], max 1 per row, for fingerprints) for g < G, and ones for g = G (so the product of
    a row with itself carries the row sums sum_j E_gij in its last column).
    Channel-major: each channel's block is written contiguously, which makes
    the exponentials 1.7x faster than row-major writes and costs the strided
    products only ~5%.
  scratch : per-thread scratch of the source (see `channel_rows`).
  diagonal_shift : bool
    True: m_gi = -D_gii, which is max_j(-D_gij) for every fingerprint (D >= 0,
    D_ii = 0) and spares a pass over the distances; E_ii = 1 then makes every
    pair sum >= 1. False: m_gi = max_j(-D_gij), for arbitrary inputs.

  Returns
  -------
  row_max : [G, r] float64, the shifts m_gi.
  lse_single, lse_double : [G, r] float64, log sum_j exp(-D_gij) and
    log sum_j exp(-2 D_gij), or None when float64 products will provide them.
  """
  count, rows = source.num_fingerprints, stop - start
  row_max = np.empty((count, rows))
  in_double = dtype == np.float64
  sums = None if in_double else (np.empty((count, rows)), np.empty((count, rows)))
  staging = None if in_double else np.empty((rows, source.num_points))
  flush, floor = _flush_level(dtype), _exponent_floor(dtype)
  out[count] = 1.0
  local_rows = np.arange(rows)
  zero_diagonal = getattr(source, "has_zero_diagonal", False)
  for group_index in range(count):
    # Written in place into the output (float64) or a float64 staging area (float32).
    target = out[group_index] if in_double else staging
    if diagonal_shift and zero_diagonal:
      # exp(-D) straight from the posteriors (D_ii = 0 exactly, so no shift).
      source.fill_coefficient_rows(group_index, start, stop, target, scratch, floor=floor)
      row_max[group_index] = 0.0
    else:
      distances = source.channel_rows(group_index, start, stop, target, scratch)
      if diagonal_shift:
        row_max[group_index] = distances[local_rows, start + local_rows]
      else:
        np.min(distances, axis=1, out=row_max[group_index])
      np.subtract(row_max[group_index][:, None], distances, out=target)
      np.maximum(target, floor, out=target)
      np.exp(target, out=target)
    # Products of two coefficients below sqrt(tiny) would be subnormal, which makes
    # the BLAS product ~10x slower; they are dropped (the pair sums they could
    # affect are caught by the repair threshold and recomputed exactly).
    if target.min() < flush:
      np.copyto(target, 0.0, where=target < flush)
    if not in_double:
      sums[0][group_index] = target.sum(axis=1)
      sums[1][group_index] = np.einsum("rn,rn->r", target, target)
      out[group_index] = target
  np.negative(row_max, out=row_max)
  if in_double:
    return row_max, None, None
  return row_max, np.log(sums[0]) + row_max, np.log(sums[1]) + 2.0 * row_max


def _repair_underflow(log_sums, sums, threshold, row, source_a, source_b, row_max_a, row_max_b):
  """Recomputes, in exact float64 log-sum-exp, the pair sums of one row that fell below `threshold`.

  log_sums, sums : [A, B] results of row `row` (log_sums is patched in place);
  row_max_a, row_max_b : [A], [B] the row maxima used for the shift.
  """
  a_sel, b_sel = np.nonzero(sums < threshold)
  neg_a = -np.asarray(source_a.rows(row, row + 1)[:, 0, :], dtype=np.float64)
  neg_b = -np.asarray(source_b.rows(row, row + 1)[:, 0, :], dtype=np.float64)
  chunk = max(1, 2**22 // neg_a.shape[1])  # pairs per pass: bounded memory
  for begin in range(0, a_sel.size, chunk):
    pick_a, pick_b = a_sel[begin:begin + chunk], b_sel[begin:begin + chunk]
    exact = information_lib.row_log_sum_exp(neg_a[pick_a] + neg_b[pick_b])
    log_sums[pick_a, pick_b] = exact - (row_max_a[pick_a] + row_max_b[pick_b])


class _RowScratch:
  """Per-thread buffers: the [G + 1, r, N] coefficient blocks and the sources' scratch."""

  def __init__(self, source_a, source_b, rows, dtype):
    shape = lambda source: (source.num_fingerprints + 1, rows, source.num_points)
    self.block_a = np.empty(shape(source_a), dtype=dtype)
    self.block_b = None if source_b is source_a else np.empty(shape(source_b), dtype=dtype)
    self.source_a = source_a.new_scratch()
    self.source_b = self.source_a if source_b is source_a else source_b.new_scratch()


def _accumulate_rows(source_a, source_b, dtype, first, last, step, threshold, diagonal_shift,
                     progress=None):
  """Sums over rows first..last-1 of every row term, in float64.

  For row i the (A + 1) x (B + 1) matrix of sums_j E_a[i, a, j] E_b[i, b, j] is
  one BLAS product (a symmetric rank-N update when the sets are the same); its
  last row and column are the per-channel row sums, and in the symmetric case
  its diagonal holds sum_j E^2.

  Returns
  -------
  dict with log_sum_ab [A, B] (sum_i log sum_j Ea_ij Eb_ij), and per channel
  lse_a, lse_aa, max_sum_a [A] (and _b [B] when the sets differ).
  """
  symmetric = source_b is source_a
  num_a, num_b = source_a.num_fingerprints, source_b.num_fingerprints
  totals = {"log_sum_ab": np.zeros((num_a, num_b)),
            "lse_a": np.zeros(num_a), "lse_aa": np.zeros(num_a), "max_sum_a": np.zeros(num_a)}
  if not symmetric:
    totals.update(lse_b=np.zeros(num_b), lse_bb=np.zeros(num_b), max_sum_b=np.zeros(num_b))
  scratch = _RowScratch(source_a, source_b, min(step, last - first), dtype)
  sums = np.empty((num_a + 1, num_b + 1), dtype=dtype)
  log_sums = np.empty((num_a + 1, num_b + 1), dtype=np.float64)
  # sum over the rows of log(sums): pairs, then row sums in the last row / column.
  log_total = np.zeros((num_a + 1, num_b + 1))
  running = np.ones((num_a + 1, num_b + 1))
  pending = 0
  rows_per_log = int(max(1, min(32, 600 // max(1.0, np.log(source_a.num_points)))))
  in_double = dtype == np.float64
  for start in range(first, last, step):
    stop = min(last, start + step)
    block_a = scratch.block_a[:, :stop - start]
    row_max_a, single_a, double_a = _exponential_block(source_a, start, stop, dtype, block_a, scratch.source_a,
                                                       diagonal_shift)
    totals["max_sum_a"] += row_max_a.sum(axis=1)
    if symmetric:
      block_b, row_max_b = block_a, row_max_a
    else:
      block_b = scratch.block_b[:, :stop - start]
      row_max_b, single_b, double_b = _exponential_block(source_b, start, stop, dtype, block_b,
                                                         scratch.source_b, diagonal_shift)
      totals["max_sum_b"] += row_max_b.sum(axis=1)
      # Sum of E^2 per row: not on the diagonal of a product of two different sets.
      if in_double:
        double_a = np.log(np.einsum("grn,grn->gr", block_a[:num_a], block_a[:num_a])) + 2 * row_max_a
        double_b = np.log(np.einsum("grn,grn->gr", block_b[:num_b], block_b[:num_b])) + 2 * row_max_b
    if not in_double:
      totals["lse_a"] += single_a.sum(axis=1)
      if not symmetric:
        totals["lse_b"] += single_b.sum(axis=1)
    if double_a is not None:
      totals["lse_aa"] += double_a.sum(axis=1)
      if not symmetric:
        totals["lse_bb"] += double_b.sum(axis=1)
    for local in range(stop - start):
      # `x @ x.T` on one array is numpy's symmetric rank-k update.
      rows_a = block_a[:, local, :]
      np.matmul(rows_a, rows_a.T if symmetric else block_b[:, local, :].T, out=sums)
      if diagonal_shift:
        # Every sum is in [1, N] here (E_ii = 1, E <= 1), so products of up to
        # `rows_per_log` rows neither overflow nor underflow: one log per group
        # of rows instead of one per row. Inputs that break E <= 1 may
        # overflow, which the caller detects and redoes with row maxima.
        np.multiply(running, sums, out=running)
        pending += 1
        if pending == rows_per_log:
          log_total += np.log(running)
          running.fill(1.0)
          pending = 0
        continue
      # Row sums and sums of squares are >= 1 (the row maximum contributes exp(0));
      # only pair sums can underflow.
      if sums[:num_a, :num_b].min() >= threshold:
        np.log(sums, out=log_sums, dtype=np.float64)
      else:
        with np.errstate(divide="ignore"):
          np.log(sums, out=log_sums, dtype=np.float64)
        _repair_underflow(log_sums[:num_a, :num_b], sums[:num_a, :num_b], threshold, start + local,
                          source_a, source_b, row_max_a[:, local], row_max_b[:, local])
      log_total += log_sums
    if progress is not None:
      progress(stop - start)
  if pending:
    log_total += np.log(running)
  totals["log_sum_ab"] = log_total[:num_a, :num_b]
  if in_double:
    # sum_i [log sum_j E + m] per channel, from the ones row / column.
    totals["lse_a"] = log_total[:num_a, num_b] + totals["max_sum_a"]
    if symmetric:
      totals["lse_aa"] = np.diagonal(log_total)[:num_a] + 2.0 * totals["max_sum_a"]
    else:
      totals["lse_b"] = log_total[num_a, :num_b] + totals["max_sum_b"]
  return totals


def pairwise_row_sums(fingerprints_a: Fingerprints, fingerprints_b: Fingerprints | None = None, *,
                      rows: tuple[int, int] | None = None, dtype: npt.DTypeLike = np.float64,
                      max_memory_bytes: int = DEFAULT_WORK_BYTES, num_threads: int | None = None,
                      progress: Callable[[int], object] | None = None) -> dict[str, np.ndarray]:
  """Sums over a range of rows of the row terms behind `pairwise_information_terms`, nats.

  Every information term is a mean over the N rows (points) i of a row term, so
  sums over disjoint row ranges add up (`combine_row_sums`) to the sums over all
  rows, which `terms_from_row_sums` turns into bits. This lets one pair of
  fingerprint sets be split over tasks by rows without computing any coefficient
  twice.

  Parameters
  ----------
  fingerprints_a, fingerprints_b, dtype, max_memory_bytes, num_threads, progress
    As for `pairwise_information_terms` (progress sees the range's rows).
  rows : (first, last) or None, keyword-only
    The rows first..last-1 to sum over (None: all N).

  Returns
  -------
  dict of float64 arrays, nats, with the row maxima m_i taken out of the logs:
    log_sum_ab : ndarray of shape (A, B), sum_i log sum_j Ea_ij Eb_ij;
    lse_a, lse_aa, max_sum_a : ndarray of shape (A,), sum_i of log sum_j exp(-Da_ij),
      of log sum_j exp(-2 Da_ij), and of m_i;
    lse_b, lse_bb, max_sum_b : ndarray of shape (B,), only when the sets differ.
  """
  dtype = checks.as_float_dtype(dtype)
  max_memory_bytes = checks.check_memory_budget(max_memory_bytes)
  symmetric = fingerprints_b is None or fingerprints_b is fingerprints_a
  source_a = bhattacharyya.as_fingerprint_source(fingerprints_a)
  source_b = source_a if symmetric else bhattacharyya.as_fingerprint_source(fingerprints_b)
  if source_a.num_points != source_b.num_points:
    raise ValueError(
        f"Both fingerprint sets must be on the same points; got N = {source_a.num_points} "
        f"and N = {source_b.num_points}.")
  num_points = source_a.num_points
  first, last = (0, num_points) if rows is None else (int(rows[0]), int(rows[1]))
  if not 0 <= first < last <= num_points:
    raise ValueError(f"rows must be a non-empty range (first, last) within 0..{num_points}; "
                     f"got {rows!r}.")
  num_a, num_b = source_a.num_fingerprints, source_b.num_fingerprints
  num_threads = min(_parallel.resolve_num_threads(num_threads), last - first)
  both = num_a + (0 if symmetric else num_b)
  # Per thread: per row of a block the `dtype` coefficients of every channel
  # (plus a ones row); fixed: the (A + 1) x (B + 1) product, its log, the running
  # product, two accumulators, and float64 staging rows for float32 products.
  per_row = dtype.itemsize * num_points * (both + 2)
  fixed = (dtype.itemsize + 32) * (num_a + 1) * (num_b + 1) + 8 * 64 * num_points
  per_thread = max_memory_bytes // num_threads
  step = int(max(1, min(64, (per_thread - fixed) // per_row)))
  threshold = _repair_threshold(dtype, num_points)

  def accumulate(start, stop):
    # Shifting by the diagonal is exact for fingerprints; it only fails (overflows)
    # when some D_ij < D_ii - 700, which no Bhattacharyya matrix has. Then the
    # general row-maximum shift is used instead. errstate is per thread.
    with np.errstate(over="ignore", invalid="ignore"):
      totals = _accumulate_rows(source_a, source_b, dtype, first + start, first + stop, step,
                                threshold, True, progress)
    if all(np.isfinite(value).all() for value in totals.values()):
      return totals
    return _accumulate_rows(source_a, source_b, dtype, first + start, first + stop, step,
                            threshold, False, progress)

  return combine_row_sums(_parallel.map_ranges(accumulate, last - first, num_threads))


def combine_row_sums(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
  """Sums of `pairwise_row_sums` results over disjoint row ranges, added in the given order."""
  if not parts:
    raise ValueError("combine_row_sums needs at least one part.")
  return {key: sum(part[key] for part in parts) for key in parts[0]}


def terms_from_row_sums(sums: dict[str, np.ndarray], num_points: int) -> InformationTerms:
  """Information terms, bits, from `pairwise_row_sums` over all `num_points` rows.

  Parameters
  ----------
  sums : dict of ndarray
    `pairwise_row_sums` (or `combine_row_sums` of ranges covering every row once).
  num_points : int
    N, the number of rows summed over.

  Returns
  -------
  InformationTerms, bits. For a set compared with itself info_ab is made exactly
  symmetric and info_b, info_bb repeat info_a, info_aa.
  """
  symmetric = "lse_b" not in sums
  b = "a" if symmetric else "b"  # the symmetric case keeps one set of per-channel sums
  total_ab = sums["log_sum_ab"] + sums["max_sum_a"][:, None] + sums[f"max_sum_{b}"][None, :]
  if symmetric:
    total_ab = 0.5 * (total_ab + total_ab.T)  # exact symmetry despite BLAS rounding
  to_bits = lambda lse_sum: information_lib.bits_from_row_lse(lse_sum / num_points, num_points)
  return InformationTerms(
      info_a=to_bits(sums["lse_a"]), info_aa=to_bits(sums["lse_aa"]),
      info_b=to_bits(sums[f"lse_{b}"]), info_bb=to_bits(sums[f"lse_{b}{b}"]),
      info_ab=to_bits(total_ab))


def pairwise_information_terms(fingerprints_a: Fingerprints, fingerprints_b: Fingerprints | None = None,
                               dtype: npt.DTypeLike = np.float64,
                               max_memory_bytes: int = DEFAULT_WORK_BYTES, num_threads: int | None = None,
                               progress: Callable[[int], object] | None = None) -> InformationTerms:
  """I(Da), I(2 Da), I(Db), I(2 Db) and I(Da + Db) for all pairs, in bits.

  Parameters
  ----------
  fingerprints_a : array_like of shape (A, N, N), or LazyFingerprints
    Bhattacharyya distances, nats.
  fingerprints_b : array_like of shape (B, N, N), LazyFingerprints, or None, optional
    None compares set a with itself (a symmetric rank-k update per row, half the work).
  dtype : {float64, float32}, optional
    Type of the matrix products; float32 is faster and accurate to ~1e-7
    bits. Logs and sums over rows are always float64.
  max_memory_bytes : int
    Work-area budget (besides the inputs and the [A, B] outputs), shared by the threads.
  num_threads : int or None
    Threads working on disjoint row ranges (None: number of CPUs, at most 8).
    Each holds its own [A, B] accumulator.
  progress : optional callable(rows), called from the worker threads after each
    block of rows (e.g. a lock-guarded `tqdm.update`); it sees N rows in all,
    plus the rows of any range that matrices that are not fingerprints force to
    be redone.

  Returns
  -------
  InformationTerms
    info_a, info_aa of shape (A,), info_b, info_bb of shape (B,), info_ab of shape (A, B),
    bits.
  """
  source_a = bhattacharyya.as_fingerprint_source(fingerprints_a)
  source_b = (None if fingerprints_b is None or fingerprints_b is fingerprints_a
              else bhattacharyya.as_fingerprint_source(fingerprints_b))
  sums = pairwise_row_sums(source_a, source_b, dtype=dtype, max_memory_bytes=max_memory_bytes,
                           num_threads=num_threads, progress=progress)
  return terms_from_row_sums(sums, source_a.num_points)


def nmi_vi_from_terms(terms: InformationTerms) -> tuple[np.ndarray, np.ndarray]:
  """NMI and VI from information terms (any shapes that broadcast as [A, 1] vs [1, B]).

  Parameters
  ----------
  terms : InformationTerms
    Information terms, bits.

  Returns
  -------
  nmi : ndarray of shape (A, B)
    float64, dimensionless; 0 where either channel carries no information (entropy
    term 2 I - I(2D) <= 1e-12 bits), where NMI is undefined.
  vi : ndarray of shape (A, B)
    float64, bits; >= 0 up to rounding (Cauchy-Schwarz on the row sums).
  """
  info_a = np.asarray(terms.info_a, dtype=np.float64)[:, None]
  info_b = np.asarray(terms.info_b, dtype=np.float64)[None, :]
  info_aa = np.asarray(terms.info_aa, dtype=np.float64)[:, None]
  info_bb = np.asarray(terms.info_bb, dtype=np.float64)[None, :]
  info_ab = np.asarray(terms.info_ab, dtype=np.float64)
  mutual = info_a + info_b - info_ab
  entropy_a = 2.0 * info_a - info_aa
  entropy_b = 2.0 * info_b - info_bb
  defined = (entropy_a > _MIN_ENTROPY_BITS) & (entropy_b > _MIN_ENTROPY_BITS)
  denominator = np.sqrt(np.where(defined, entropy_a * entropy_b, 1.0))
  nmi = np.where(defined, mutual / denominator, 0.0)
  vi = 2.0 * info_ab - (info_aa + info_bb)  # grouped so that vi == vi.T exactly
  return nmi, vi


def pairwise_nmi_vi(fingerprints_a: Fingerprints, fingerprints_b: Fingerprints | None = None,
                    dtype: npt.DTypeLike = np.float64, max_memory_bytes: int = DEFAULT_WORK_BYTES,
                    num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """NMI and VI between every fingerprint of set a and every one of set b.

  Parameters
  ----------
  fingerprints_a : array_like of shape (A, N, N), or LazyFingerprints
    Bhattacharyya distances, nats.
  fingerprints_b : array_like of shape (B, N, N), LazyFingerprints, or None, optional
    None compares set a with itself.
  dtype : {float64, float32}, optional
    Type of the batched product.
  max_memory_bytes : int, optional
    Work-area budget (bytes); rows are processed in blocks that fit it.
  num_threads : int or None, optional
    Threads over row ranges (None: number of CPUs, at most 8).

  Returns
  -------
  nmi : ndarray of shape (A, B)
    float64, dimensionless (1 for identical channels, ~0 for independent ones).
  vi : ndarray of shape (A, B)
    float64, bits (0 for identical channels).
  """
  terms = pairwise_information_terms(fingerprints_a, fingerprints_b, dtype=dtype,
                                     max_memory_bytes=max_memory_bytes, num_threads=num_threads)
  return nmi_vi_from_terms(terms)
