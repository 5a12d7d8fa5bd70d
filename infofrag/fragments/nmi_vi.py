"""Pairwise NMI and VI between fingerprints, all pairs at once (SPEC section 5).

For fingerprints Da, Db on the same N points (bits):
  I_a = I(Da), I_aa = I(2 Da), I_ab = I(Da + Db)
  NMI = (I_a + I_b - I_ab) / sqrt((2 I_a - I_aa)(2 I_b - I_bb))
  VI  = 2 I_ab - I_aa - I_bb

The I_ab of all pairs share one computation: for each row i,
  sum_j exp(-Da_ij - Db_ij) = exp(ma_i + mb_i) * sum_j Ea_ij Eb_ij,
with ma_i = max_j(-Da_ij) and Ea_ij = exp(-Da_ij - ma_i) in (0, 1]. For a block
of rows the sums over j for every (a, b) are one batched matrix product
[r, A, N] x [r, N, B]. The rare sums that underflow (possible only when no j
makes both Ea_ij and Eb_ij large, never for D_ii = 0) are recomputed exactly
with a float64 log-sum-exp. Rows and channels are processed in blocks sized
to `max_memory_bytes`.
"""

import collections

import numpy as np

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


def _shifted_exponentials(distance_rows, dtype):
  """Row-shifted Bhattacharyya coefficients of a block of rows.

  Parameters
  ----------
  distance_rows : [G, r, N] float array, nats.

  Returns
  -------
  shifted : [r, G, N] `dtype`, exp(-D_ij - m_i), max 1 per row.
  row_max : [G, r] float64, m_i = max_j(-D_ij).
  lse_single, lse_double : [G, r] float64, log sum_j exp(-D_ij) and log sum_j exp(-2 D_ij).
  """
  neg = np.negative(distance_rows, dtype=np.float64)
  row_max = neg.max(axis=-1)
  neg -= row_max[..., None]
  np.exp(neg, out=neg)
  lse_single = np.log(neg.sum(axis=-1)) + row_max
  lse_double = np.log(np.einsum("grn,grn->gr", neg, neg)) + 2.0 * row_max
  shifted = np.ascontiguousarray(neg.transpose(1, 0, 2), dtype=dtype)
  return shifted, row_max, lse_single, lse_double


def _repair_underflow(log_sums, sums, threshold, rows, a_offset, b_offset,
                      source_a, source_b, row_max_a, row_max_b):
  """Recomputes, in exact float64 log-sum-exp, the pair sums that fell below `threshold`.

  log_sums, sums : [r, a, b] block results (log_sums is patched in place);
  rows : absolute index of the block's first row.
  """
  row_idx, a_idx, b_idx = np.nonzero(sums < threshold)
  for local_row in np.unique(row_idx):
    chosen = row_idx == local_row
    a_sel, b_sel = a_idx[chosen], b_idx[chosen]
    row = rows + local_row
    neg_a = -np.asarray(source_a.rows(row, row + 1)[a_offset + a_sel, 0, :], dtype=np.float64)
    neg_b = -np.asarray(source_b.rows(row, row + 1)[b_offset + b_sel, 0, :], dtype=np.float64)
    exact = information_lib.row_log_sum_exp(neg_a + neg_b)
    shift = row_max_a[a_offset + a_sel, local_row] + row_max_b[b_offset + b_sel, local_row]
    log_sums[local_row, a_sel, b_sel] = exact - shift


def _block_size(num_channels):
  """Channel block: small enough to bound the [r, block, B] product, big enough for BLAS."""
  return int(min(num_channels, max(64, -(-num_channels // 8))))


def pairwise_information_terms(fingerprints_a, fingerprints_b=None, dtype=np.float64,
                               max_memory_bytes=DEFAULT_WORK_BYTES):
  """I(Da), I(2 Da), I(Db), I(2 Db) and I(Da + Db) for all pairs, in bits.

  Parameters
  ----------
  fingerprints_a : [A, N, N] float array (nats) or `LazyFingerprints`.
  fingerprints_b : [B, N, N] float array, `LazyFingerprints`, or None
    None compares set a with itself (and computes only half of the pairs).
  dtype : float64 (default) or float32
    Type of the batched matrix product; float32 is about twice as fast,
    accurate to ~1e-6 bits. Logs and sums are always float64.
  max_memory_bytes : int
    Work-area budget (besides the inputs and the [A, B] outputs).

  Returns
  -------
  InformationTerms (info_a [A], info_aa [A], info_b [B], info_bb [B], info_ab [A, B]).
  """
  dtype = _validation.as_float_dtype(dtype)
  max_memory_bytes = _validation.check_memory_budget(max_memory_bytes)
  symmetric = fingerprints_b is None
  source_a = bhattacharyya.as_fingerprint_source(fingerprints_a)
  source_b = source_a if symmetric else bhattacharyya.as_fingerprint_source(fingerprints_b)
  if source_a.num_points != source_b.num_points:
    raise ValueError(
        f"Both fingerprint sets must be on the same points; got N = {source_a.num_points} "
        f"and N = {source_b.num_points}.")
  num_points = source_a.num_points
  num_a, num_b = source_a.num_fingerprints, source_b.num_fingerprints
  block = _block_size(num_a)
  itemsize = dtype.itemsize
  both = num_a + (0 if symmetric else num_b)
  # Per row: the float64 exponentials and their `dtype` copies, the source's own
  # work area, and one channel block's product and its log.
  per_row = (3 * 8 + itemsize) * num_points * both + (itemsize + 16) * block * num_b
  per_row += source_a.bytes_per_row() + (0 if symmetric else source_b.bytes_per_row())
  step = max(1, max_memory_bytes // per_row)
  threshold = num_points * np.finfo(dtype).tiny / np.finfo(dtype).eps

  log_sum_ab = np.zeros((num_a, num_b), dtype=np.float64)
  lse_a = np.zeros(num_a)
  lse_aa = np.zeros(num_a)
  max_sum_a = np.zeros(num_a)
  lse_b, lse_bb, max_sum_b = lse_a, lse_aa, max_sum_a
  if not symmetric:
    lse_b, lse_bb, max_sum_b = np.zeros(num_b), np.zeros(num_b), np.zeros(num_b)

  for start in range(0, num_points, step):
    stop = min(num_points, start + step)
    shifted_a, row_max_a, single_a, double_a = _shifted_exponentials(source_a.rows(start, stop), dtype)
    lse_a += single_a.sum(axis=1)
    lse_aa += double_a.sum(axis=1)
    max_sum_a += row_max_a.sum(axis=1)
    if symmetric:
      shifted_b, row_max_b = shifted_a, row_max_a
    else:
      shifted_b, row_max_b, single_b, double_b = _shifted_exponentials(source_b.rows(start, stop), dtype)
      lse_b += single_b.sum(axis=1)
      lse_bb += double_b.sum(axis=1)
      max_sum_b += row_max_b.sum(axis=1)
    for a_start in range(0, num_a, block):
      a_stop = min(num_a, a_start + block)
      # Symmetric: only the upper triangle (b >= a_start) is computed.
      b_start = a_start if symmetric else 0
      sums = np.matmul(shifted_a[:, a_start:a_stop, :], shifted_b[:, b_start:, :].transpose(0, 2, 1))
      with np.errstate(divide="ignore"):
        log_sums = np.log(sums, dtype=np.float64)
      if np.any(sums < threshold):
        _repair_underflow(log_sums, sums, threshold, start, a_start, b_start,
                          source_a, source_b, row_max_a, row_max_b)
      log_sum_ab[a_start:a_stop, b_start:] += log_sums.sum(axis=0)

  total_ab = log_sum_ab + max_sum_a[:, None] + max_sum_b[None, :]
  if symmetric:
    upper = np.triu(total_ab)
    total_ab = upper + np.triu(total_ab, 1).T
  to_bits = lambda lse_sum: information_lib.bits_from_row_lse(lse_sum / num_points, num_points)
  return InformationTerms(
      info_a=to_bits(lse_a), info_aa=to_bits(lse_aa),
      info_b=to_bits(lse_b), info_bb=to_bits(lse_bb),
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
                    max_memory_bytes=DEFAULT_WORK_BYTES):
  """NMI and VI between every fingerprint of set a and every one of set b.

  Parameters
  ----------
  fingerprints_a : [A, N, N] float array (nats) or `LazyFingerprints`.
  fingerprints_b : [B, N, N], `LazyFingerprints`, or None (compare a with itself).
  dtype : float64 (default) or float32 for the batched product.
  max_memory_bytes : int
    Work-area budget; rows and channels are processed in blocks that fit it.

  Returns
  -------
  nmi : [A, B] float64 (1 for identical channels, ~0 for independent ones).
  vi : [A, B] float64, bits (0 for identical channels).
  """
  terms = pairwise_information_terms(fingerprints_a, fingerprints_b, dtype=dtype,
                                     max_memory_bytes=max_memory_bytes)
  return nmi_vi_from_terms(terms)
