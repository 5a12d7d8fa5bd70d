"""Pairwise NMI and VI between fingerprints, all pairs at once (SPEC section 5).

For fingerprints Da, Db on the same N points (bits):
  I_a = I(Da), I_aa = I(2 Da), I_ab = I(Da + Db)
  NMI = (I_a + I_b - I_ab) / sqrt((2 I_a - I_aa)(2 I_b - I_bb))
  VI  = 2 I_ab - I_aa - I_bb

The I_ab of all pairs share one computation: for each row i,
  sum_j exp(-Da_ij - Db_ij) = exp(ma_i + mb_i) * sum_j Ea_ij Eb_ij,
with ma_i = max_j(-Da_ij) and Ea_ij = exp(-Da_ij - ma_i) in (0, 1]. For row i
the sums over j for every (a, b) are one matrix product [A, N] x [N, B] (a
symmetric rank-N update when a set is compared with itself), so all pairs
cost N such products instead of A * B passes over [N, N] arrays.
Coefficients below sqrt(tiny) are flushed to 0 (their products would be
subnormal, which slows BLAS ~10x); pair sums small enough to be affected, or
to underflow (only when no j makes both Ea_ij and Eb_ij large, never for
D_ii = 0), are recomputed exactly with a float64 log-sum-exp. Rows are
processed in blocks sized to `max_memory_bytes`, split over threads.
"""

import collections

import numpy as np

from infofrag.fragments import _parallel
from infofrag.fragments import _validation
from infofrag.fragments import bhattacharyya
from infofrag.fragments import information_bound as information_lib

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


def _repair_threshold(dtype, num_points):
  """Pair sums below this may have lost relative precision > eps to flushing or underflow."""
  info = np.finfo(dtype)
  return num_points * max(_flush_level(dtype), info.tiny) / info.eps


def _shifted_exponentials(distance_rows, dtype):
  """Row-shifted Bhattacharyya coefficients of a block of rows.

  Parameters
  ----------
  distance_rows : [G, r, N] float array, nats. Overwritten when it is a float64
    array that owns its memory (a block computed by LazyFingerprints).

  Returns
  -------
  shifted : [G, r, N] `dtype`, exp(-D_ij - m_i), max 1 per row.
  row_max : [G, r] float64, m_i = max_j(-D_ij).
  lse_single, lse_double : [G, r] float64, log sum_j exp(-D_ij) and log sum_j exp(-2 D_ij).
  """
  owned = distance_rows.dtype == np.float64 and distance_rows.flags.owndata
  neg = np.negative(distance_rows, out=distance_rows if owned else None, dtype=np.float64)
  row_max = neg.max(axis=-1)
  neg -= row_max[..., None]
  np.exp(neg, out=neg)
  # Products of two coefficients below sqrt(tiny) would be subnormal, which makes
  # the BLAS product ~10x slower; they are dropped (the pair sums they could
  # affect are caught by the repair threshold and recomputed exactly).
  neg[neg < _flush_level(dtype)] = 0.0
  lse_single = np.log(neg.sum(axis=-1)) + row_max
  lse_double = np.log(np.einsum("grn,grn->gr", neg, neg)) + 2.0 * row_max
  shifted = neg if dtype == np.float64 else neg.astype(dtype)
  return shifted, row_max, lse_single, lse_double


def _repair_underflow(log_sums, sums, threshold, row, source_a, source_b, row_max_a, row_max_b):
  """Recomputes, in exact float64 log-sum-exp, the pair sums of one row that fell below `threshold`.

  log_sums, sums : [A, B] results of row `row` (log_sums is patched in place);
  row_max_a, row_max_b : [A], [B] the row maxima used for the shift.
  """
  a_sel, b_sel = np.nonzero(sums < threshold)
  neg_a = -np.asarray(source_a.rows(row, row + 1)[a_sel, 0, :], dtype=np.float64)
  neg_b = -np.asarray(source_b.rows(row, row + 1)[b_sel, 0, :], dtype=np.float64)
  exact = information_lib.row_log_sum_exp(neg_a + neg_b)
  log_sums[a_sel, b_sel] = exact - (row_max_a[a_sel] + row_max_b[b_sel])


def _accumulate_rows(source_a, source_b, dtype, first, last, step, threshold):
  """Sums over rows first..last-1 of every row term, in float64.

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
  sums = np.empty((num_a, num_b), dtype=dtype)
  log_sums = np.empty((num_a, num_b), dtype=np.float64)
  for start in range(first, last, step):
    stop = min(last, start + step)
    shifted_a, row_max_a, single_a, double_a = _shifted_exponentials(source_a.rows(start, stop), dtype)
    totals["lse_a"] += single_a.sum(axis=1)
    totals["lse_aa"] += double_a.sum(axis=1)
    totals["max_sum_a"] += row_max_a.sum(axis=1)
    if symmetric:
      shifted_b, row_max_b = shifted_a, row_max_a
    else:
      shifted_b, row_max_b, single_b, double_b = _shifted_exponentials(source_b.rows(start, stop), dtype)
      totals["lse_b"] += single_b.sum(axis=1)
      totals["lse_bb"] += double_b.sum(axis=1)
      totals["max_sum_b"] += row_max_b.sum(axis=1)
    for local in range(stop - start):
      rows_a = shifted_a[:, local, :]
      # `x @ x.T` on the same array is a symmetric rank-k update in numpy's BLAS path.
      rows_b = rows_a if symmetric else shifted_b[:, local, :]
      np.matmul(rows_a, rows_b.T, out=sums)
      with np.errstate(divide="ignore"):
        np.log(sums, out=log_sums, dtype=np.float64)
      if sums.min() < threshold:
        _repair_underflow(log_sums, sums, threshold, start + local, source_a, source_b,
                          row_max_a[:, local], row_max_b[:, local])
      totals["log_sum_ab"] += log_sums
  return totals


def pairwise_information_terms(fingerprints_a, fingerprints_b=None, dtype=np.float64,
                               max_memory_bytes=DEFAULT_WORK_BYTES, num_threads=None):
  """I(Da), I(2 Da), I(Db), I(2 Db) and I(Da + Db) for all pairs, in bits.

  Parameters
  ----------
  fingerprints_a : [A, N, N] float array (nats) or `LazyFingerprints`.
  fingerprints_b : [B, N, N] float array, `LazyFingerprints`, or None
    None compares set a with itself (a symmetric rank-k update per row, half the work).
  dtype : float64 (default) or float32
    Type of the matrix products; float32 is faster and accurate to ~1e-7
    bits. Logs and sums over rows are always float64.
  max_memory_bytes : int
    Work-area budget (besides the inputs and the [A, B] outputs), shared by the threads.
  num_threads : int or None
    Threads working on disjoint row ranges (None: number of CPUs, at most 8).
    Each holds its own [A, B] accumulator.

  Returns
  -------
  InformationTerms (info_a [A], info_aa [A], info_b [B], info_bb [B], info_ab [A, B]).
  """
  dtype = _validation.as_float_dtype(dtype)
  max_memory_bytes = _validation.check_memory_budget(max_memory_bytes)
  symmetric = fingerprints_b is None or fingerprints_b is fingerprints_a
  source_a = bhattacharyya.as_fingerprint_source(fingerprints_a)
  source_b = source_a if symmetric else bhattacharyya.as_fingerprint_source(fingerprints_b)
  if source_a.num_points != source_b.num_points:
    raise ValueError(
        f"Both fingerprint sets must be on the same points; got N = {source_a.num_points} "
        f"and N = {source_b.num_points}.")
  num_points = source_a.num_points
  num_a, num_b = source_a.num_fingerprints, source_b.num_fingerprints
  num_threads = min(_parallel.resolve_num_threads(num_threads), num_points)
  both = num_a + (0 if symmetric else num_b)
  # Per thread: per row of a block the float64 exponentials (plus a `dtype`
  # copy) and the sources' work areas; fixed: the [A, B] product, its log and
  # the accumulator.
  per_row = (16 + dtype.itemsize) * num_points * both
  per_row += source_a.bytes_per_row() + (0 if symmetric else source_b.bytes_per_row())
  fixed = (dtype.itemsize + 16) * num_a * num_b
  per_thread = max_memory_bytes // num_threads
  step = int(max(1, min(64, (per_thread - fixed) // per_row)))
  threshold = _repair_threshold(dtype, num_points)

  partials = _parallel.map_ranges(
      lambda first, last: _accumulate_rows(source_a, source_b, dtype, first, last, step, threshold),
      num_points, num_threads)
  totals = {key: sum(part[key] for part in partials) for key in partials[0]}
  b = "a" if symmetric else "b"  # the symmetric case keeps one set of per-channel sums
  total_ab = totals["log_sum_ab"] + totals["max_sum_a"][:, None] + totals[f"max_sum_{b}"][None, :]
  if symmetric:
    total_ab = 0.5 * (total_ab + total_ab.T)  # exact symmetry despite BLAS rounding
  to_bits = lambda lse_sum: information_lib.bits_from_row_lse(lse_sum / num_points, num_points)
  return InformationTerms(
      info_a=to_bits(totals["lse_a"]), info_aa=to_bits(totals["lse_aa"]),
      info_b=to_bits(totals[f"lse_{b}"]), info_bb=to_bits(totals[f"lse_{b}{b}"]),
      info_ab=to_bits(total_ab))


def nmi_vi_from_terms(terms):
  """NMI and VI from information terms (any shapes that broadcast as [A, 1] vs [1, B]).

  Parameters
  ----------
  terms : InformationTerms, bits.

  Returns
  -------
  nmi : [A, B] float64, dimensionless; 0 where either channel carries no
    information (entropy term 2 I - I(2D) <= 1e-12 bits), where NMI is undefined.
  vi : [A, B] float64, bits; >= 0 up to rounding (Cauchy-Schwarz on the row sums).
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


def pairwise_nmi_vi(fingerprints_a, fingerprints_b=None, dtype=np.float64,
                    max_memory_bytes=DEFAULT_WORK_BYTES, num_threads=None):
  """NMI and VI between every fingerprint of set a and every one of set b.

  Parameters
  ----------
  fingerprints_a : [A, N, N] float array (nats) or `LazyFingerprints`.
  fingerprints_b : [B, N, N], `LazyFingerprints`, or None (compare a with itself).
  dtype : float64 (default) or float32 for the batched product.
  max_memory_bytes : int
    Work-area budget; rows are processed in blocks that fit it.
  num_threads : int or None
    Threads over row ranges (None: number of CPUs, at most 8).

  Returns
  -------
  nmi : [A, B] float64 (1 for identical channels, ~0 for independent ones).
  vi : [A, B] float64, bits (0 for identical channels).
  """
  terms = pairwise_information_terms(fingerprints_a, fingerprints_b, dtype=dtype,
                                     max_memory_bytes=max_memory_bytes, num_threads=num_threads)
  return nmi_vi_from_terms(terms)
