"""NMI / VI between channels in blocks of channels: one task per pair of blocks, resumable.

The channels (columns of the posterior means / log-variances, [N, K]) are cut into
blocks of `block_channels`. Each pair of blocks (i, j) with i <= j, the upper
triangle, is one task: it builds the fingerprints (Bhattacharyya distance matrices,
the paper's Bhattacharyya estimates) of its two blocks itself from their [N, c] means and
log-variances, computes the information terms I(Da), I(2 Da), I(Db), I(2 Db) and
I(Da + Db) of every pair (`infofrag.fragments.pairwise_information_terms`, one
thread), and writes them atomically to FOLDER/blocks/<i>-<j>.npz. A task therefore
needs only its blocks' inputs, which it reads from FOLDER/inputs/ (a path every
worker sees), and returns a few numbers.

Because every finished block is on disk, a rerun after the client or a worker was
killed computes only the missing blocks (and says how many it reused). The inputs'
digest is recorded in FOLDER/plan.json; blocks of other inputs are discarded.

Assembly turns each block's terms into NMI and VI (`nmi_vi_from_terms`, the
paper's NMI = (I_a + I_b - I_ab) / sqrt((2 I_a - I_aa)(2 I_b - I_bb)) and
VI = 2 I_ab - I_aa - I_bb), mirrors them, and writes FOLDER/nmi.npy and
FOLDER/vi.npy, which `np.load(..., mmap_mode='r')` maps without reading them:
float64 up to `float32_above_bytes` per matrix, float32 above (NMI and VI are
then rounded once, to ~6e-8 relative). FOLDER/pairwise.json records the dtype.

The same block function runs in-process (client=None, a thread per block with
single-threaded BLAS) or on Dask workers (one single-threaded task per block).
Both give bit-identical matrices; against `pairwise_information_terms` on all
channels at once they agree to ~1e-13 (other BLAS summation orders).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Any, Callable, Optional

import numpy as np

from infofrag.utils import io

# Largest default block: 1,000 channels at N = 1,000 hold a task near 0.6 GB. Each
# task recomputes its blocks' fingerprints, a cost per pair that falls as 1 / block
# size, so blocks are as large as this allows while giving at least two blocks
# (three tasks: one off-diagonal pair and two half-size diagonal ones, which two
# workers share evenly).
DEFAULT_BLOCK_CHANNELS = 1000
# NMI / VI matrices above this size (bytes in float64) are stored in float32.
FLOAT32_ABOVE_BYTES = 256 * 2**20
# Work area of one block task's row loop besides its fingerprints and accumulators.
BLOCK_WORK_BYTES = 256 * 2**20
# The paper's cut: channels with at most this information (bits) are inactive.
ACTIVE_BITS = 0.01

_PLAN = "plan.json"
_SUMMARY = "pairwise.json"
_TERMS = ("info_a", "info_aa", "info_b", "info_bb", "info_ab")


@dataclasses.dataclass
class PairwiseResult:
  """Assembled pairwise stage.

  Attributes
  ----------
  nmi : ndarray of shape (k, k)
    NMI between the selected channels (dimensionless), memory-mapped from FOLDER/nmi.npy.
  vi : ndarray of shape (k, k)
    VI between the selected channels, bits, memory-mapped from FOLDER/vi.npy.
  information : ndarray of shape (k,)
    I(D) of each selected channel, bits, float64.
  channels : ndarray of shape (k,)
    Column of the input each row / column of the matrices belongs to (int64).
  dtype : str
    'float64' or 'float32', the stored type of nmi and vi.
  blocks_total : int
    Block pairs of the upper triangle.
  blocks_reused : int
    Block pairs found finished on disk instead of computed.
  folder : str
  """
  nmi: np.ndarray
  vi: np.ndarray
  information: np.ndarray
  channels: np.ndarray
  dtype: str
  blocks_total: int
  blocks_reused: int
  folder: str


def active_channels(information: np.ndarray, *, threshold_bits: float = ACTIVE_BITS) -> np.ndarray:
  """Indices of the channels carrying more than `threshold_bits` of information.

  Parameters
  ----------
  information : ndarray of shape (k,)
    Per-channel information I(D), bits.
  threshold_bits : float, keyword-only
    The cut, bits (default 0.01, the paper's).

  Returns
  -------
  ndarray of shape (m,), int64, increasing.
  """
  information = np.asarray(information, dtype=np.float64)
  if information.ndim != 1:
    raise ValueError(f"information must be one value per channel; got shape {information.shape}.")
  return np.flatnonzero(information > threshold_bits).astype(np.int64)


def block_edges(num_channels: int, block_channels: int) -> np.ndarray:
  """Edges [0, c, 2c, ..., K] of the channel blocks (int64)."""
  if int(block_channels) != block_channels or block_channels < 1:
    raise ValueError(f"block_channels must be a positive integer; got {block_channels!r}.")
  return np.append(np.arange(0, num_channels, int(block_channels)), num_channels).astype(np.int64)


def default_block_channels(num_channels: int) -> int:
  """min(DEFAULT_BLOCK_CHANNELS, ceil(K / 2)): at least two blocks, each at most 1,000 channels."""
  return int(max(1, min(DEFAULT_BLOCK_CHANNELS, -(-num_channels // 2))))


def block_pairs(num_blocks: int) -> list[tuple[int, int]]:
  """The upper triangle (i, j), i <= j, largest work first (off-diagonal pairs)."""
  pairs = [(i, j) for i in range(num_blocks) for j in range(i, num_blocks)]
  return sorted(pairs, key=lambda pair: pair[0] == pair[1])


def block_terms(mean_a: np.ndarray, logvar_a: np.ndarray, mean_b: Optional[np.ndarray] = None,
                logvar_b: Optional[np.ndarray] = None, *,
                max_memory_bytes: int = BLOCK_WORK_BYTES) -> dict:
  """Information terms of every pair of channels of two blocks, on one thread.

  Parameters
  ----------
  mean_a, logvar_a : ndarray of shape (n, a)
    Posterior means and natural-log variances of block a's channels on N points.
  mean_b, logvar_b : ndarray of shape (n, b) or None
    Block b; None compares block a with itself (a symmetric product, half the work).
  max_memory_bytes : int, keyword-only
    Work area of the row loop.

  Returns
  -------
  dict of float64 arrays, bits: info_a (a,), info_aa (a,), info_b (b,), info_bb (b,),
  info_ab (a, b).
  """
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  source_a = fragments.LazyFingerprints(mean_a, logvar_a)
  source_b = None if mean_b is None else fragments.LazyFingerprints(mean_b, logvar_b)
  terms = fragments.pairwise_information_terms(source_a, source_b, num_threads=1,
                                               max_memory_bytes=max_memory_bytes)
  return {name: np.asarray(getattr(terms, name), dtype=np.float64) for name in _TERMS}


def _block_path(folder: str, row_block: int, column_block: int) -> str:
  return os.path.join(folder, "blocks", f"{row_block:05d}-{column_block:05d}.npz")


def _load_block(folder: str, row_block: int, column_block: int) -> Optional[dict]:
  """The stored terms of one block pair, or None when absent or unreadable."""
  path = _block_path(folder, row_block, column_block)
  if not os.path.exists(path):
    return None
  try:
    with np.load(path) as stored:
      return {name: stored[name] for name in _TERMS}
  except (OSError, ValueError, KeyError, EOFError):
    return None


def _read_plan(folder: str) -> Optional[dict]:
  try:
    with open(os.path.join(folder, _PLAN)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def run_block(folder: str, row_block: int, column_block: int) -> dict:
  """One task: computes and persists the terms of block pair (row_block, column_block).

  Reads the two blocks' means and log-variances from FOLDER/inputs/ (written by
  `pairwise_nmi_vi_blocks`), computes `block_terms` and writes them atomically
  to FOLDER/blocks/<row>-<column>.npz. A block already on disk (e.g. written by a
  worker that died afterwards) is not recomputed. Top-level and picklable, so
  it can be submitted to any Dask client.

  Parameters
  ----------
  folder : str
    The stage folder, on a path this process can read and write.
  row_block, column_block : int
    Block indices, row_block <= column_block.

  Returns
  -------
  dict: row_block, column_block, seconds (compute time, 0 when found), computed (bool).
  """
  if _load_block(folder, row_block, column_block) is not None:
    return {"row_block": row_block, "column_block": column_block, "seconds": 0.0, "computed": False}
  plan = _read_plan(folder)
  if plan is None:
    raise FileNotFoundError(f"{os.path.join(folder, _PLAN)} is missing or unreadable: the "
                            "pairwise folder must be on a path shared with the client.")
  edges = plan["edges"]
  means = np.load(os.path.join(folder, "inputs", "mean_t.npy"), mmap_mode="r")
  logvars = np.load(os.path.join(folder, "inputs", "logvar_t.npy"), mmap_mode="r")

  def block(index):
    rows = slice(edges[index], edges[index + 1])
    return np.array(means[rows]).T, np.array(logvars[rows]).T

  start = time.perf_counter()
  mean_a, logvar_a = block(row_block)
  if row_block == column_block:
    terms = block_terms(mean_a, logvar_a, max_memory_bytes=plan["max_memory_bytes"])
  else:
    terms = block_terms(mean_a, logvar_a, *block(column_block),
                        max_memory_bytes=plan["max_memory_bytes"])
  with io.atomic_path(_block_path(folder, row_block, column_block)) as tmp:
    np.savez(tmp, **terms)
  return {"row_block": row_block, "column_block": column_block,
          "seconds": time.perf_counter() - start, "computed": True}


def _digest(mean_t: np.ndarray, logvar_t: np.ndarray, edges: np.ndarray) -> str:
  digest = hashlib.sha256()
  for array in (mean_t, logvar_t, edges):
    digest.update(str(array.shape).encode())
    digest.update(np.ascontiguousarray(array).data)
  return digest.hexdigest()[:24]


def _prepare(folder: str, mean_t: np.ndarray, logvar_t: np.ndarray, edges: np.ndarray,
             max_memory_bytes: int) -> str:
  """Writes the inputs and plan unless the folder already holds these inputs; returns the digest.

  Blocks of other inputs (another digest) are removed, as are their outputs.
  """
  digest = _digest(mean_t, logvar_t, edges)
  plan = _read_plan(folder)
  inputs = [os.path.join(folder, "inputs", name) for name in ("mean_t.npy", "logvar_t.npy")]
  if plan is not None and plan.get("digest") == digest and all(map(os.path.exists, inputs)):
    return digest
  os.makedirs(os.path.join(folder, "blocks"), exist_ok=True)
  with contextlib.suppress(FileNotFoundError):
    os.remove(os.path.join(folder, _PLAN))  # first: no task may pair old plan and new inputs
  for name in os.listdir(os.path.join(folder, "blocks")):
    if name.endswith(".npz"):
      os.remove(os.path.join(folder, "blocks", name))
  for name in (_SUMMARY, "nmi.npy", "vi.npy", "information.npy", "channels.npy"):
    with contextlib.suppress(FileNotFoundError):
      os.remove(os.path.join(folder, name))
  for name, array in (("mean_t.npy", mean_t), ("logvar_t.npy", logvar_t)):
    with io.atomic_path(os.path.join(folder, "inputs", name)) as tmp:
      np.save(tmp, array)
  io.write_json_atomic(os.path.join(folder, _PLAN), {
      "digest": digest, "num_channels": int(mean_t.shape[0]), "num_points": int(mean_t.shape[1]),
      "edges": [int(e) for e in edges], "max_memory_bytes": int(max_memory_bytes)})
  return digest


def _assemble(folder: str, edges: np.ndarray, channels: np.ndarray, digest: str,
              float32_above_bytes: int, blocks_total: int, blocks_reused: int) -> PairwiseResult:
  """Writes nmi.npy / vi.npy (memory-mappable), information.npy, channels.npy and pairwise.json."""
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  count = int(edges[-1])
  dtype = np.dtype(np.float32 if 8 * count * count > float32_above_bytes else np.float64)
  information = np.zeros(count)
  paths = {name: os.path.join(folder, f"{name}.npy") for name in ("nmi", "vi")}
  with io.atomic_path(paths["nmi"]) as nmi_tmp, io.atomic_path(paths["vi"]) as vi_tmp:
    nmi = np.lib.format.open_memmap(nmi_tmp, mode="w+", dtype=dtype, shape=(count, count))
    vi = np.lib.format.open_memmap(vi_tmp, mode="w+", dtype=dtype, shape=(count, count))
    for i, j in block_pairs(len(edges) - 1):
      terms = _load_block(folder, i, j)
      if terms is None:
        raise RuntimeError(f"block {i}-{j} of {folder} vanished before assembly; rerun to "
                           "compute it again.")
      rows, columns = slice(edges[i], edges[i + 1]), slice(edges[j], edges[j + 1])
      block_nmi, block_vi = fragments.nmi_vi_from_terms(fragments.InformationTerms(**terms))
      nmi[rows, columns], vi[rows, columns] = block_nmi, block_vi
      if i != j:
        nmi[columns, rows], vi[columns, rows] = block_nmi.T, block_vi.T
      else:
        information[rows] = terms["info_a"]
    nmi.flush()
    vi.flush()
    del nmi, vi
  with io.atomic_path(os.path.join(folder, "information.npy")) as tmp:
    np.save(tmp, information)
  with io.atomic_path(os.path.join(folder, "channels.npy")) as tmp:
    np.save(tmp, channels)
  io.write_json_atomic(os.path.join(folder, _SUMMARY), {
      "digest": digest, "dtype": dtype.name, "num_channels": count,
      "files": {"nmi": "nmi.npy", "vi": "vi.npy", "information": "information.npy",
                "channels": "channels.npy"},
      "units": {"nmi": "dimensionless", "vi": "bits", "information": "bits"},
      "blocks_total": blocks_total, "blocks_reused": blocks_reused})
  return load_result(folder, blocks_reused=blocks_reused)


def load_result(folder: str, *, blocks_reused: Optional[int] = None) -> PairwiseResult:
  """The assembled result stored in `folder` (matrices memory-mapped read-only)."""
  with open(os.path.join(folder, _SUMMARY)) as f:
    summary = json.load(f)
  return PairwiseResult(
      nmi=np.load(os.path.join(folder, "nmi.npy"), mmap_mode="r"),
      vi=np.load(os.path.join(folder, "vi.npy"), mmap_mode="r"),
      information=np.load(os.path.join(folder, "information.npy")),
      channels=np.load(os.path.join(folder, "channels.npy")),
      dtype=summary["dtype"], blocks_total=summary["blocks_total"],
      blocks_reused=summary["blocks_total"] if blocks_reused is None else blocks_reused,
      folder=folder)


def _as_inputs(mean: np.ndarray, logvar: np.ndarray, channels) -> tuple:
  mean, logvar = np.asarray(mean), np.asarray(logvar)
  if mean.ndim != 2 or mean.shape != logvar.shape:
    raise ValueError(f"mean and logvar must both be [N, K] arrays of the same shape; got "
                     f"{mean.shape} and {logvar.shape}.")
  if channels is None:
    channels = np.arange(mean.shape[1], dtype=np.int64)
  channels = np.asarray(channels)
  if channels.dtype == bool:
    channels = np.flatnonzero(channels)
  if channels.ndim != 1 or not np.issubdtype(channels.dtype, np.integer):
    raise ValueError("channels must be a 1-D array of channel indices (or a boolean mask).")
  channels = channels.astype(np.int64)
  if channels.size < 1 or channels.min() < 0 or channels.max() >= mean.shape[1] or (
      np.unique(channels).size != channels.size):
    raise ValueError(f"channels must be distinct indices in 0..{mean.shape[1] - 1}; got "
                     f"{channels.size} values.")
  mean_t = np.ascontiguousarray(mean[:, channels].T, dtype=np.float64)
  logvar_t = np.ascontiguousarray(logvar[:, channels].T, dtype=np.float64)
  if not (np.isfinite(mean_t).all() and np.isfinite(logvar_t).all()):
    raise ValueError("mean and logvar must be finite.")
  return mean_t, logvar_t, channels


def pairwise_nmi_vi_blocks(mean: np.ndarray, logvar: np.ndarray, *, folder: str,
                           client: Any = None, channels: Optional[np.ndarray] = None,
                           block_channels: Optional[int] = None,
                           num_threads: Optional[int] = None,
                           float32_above_bytes: int = FLOAT32_ABOVE_BYTES,
                           max_memory_bytes: int = BLOCK_WORK_BYTES,
                           progress: bool | Callable[[int, int], None] = False) -> PairwiseResult:
  """NMI and VI between channels, one task per pair of channel blocks, resumable.

  Parameters
  ----------
  mean, logvar : ndarray of shape (n, K)
    Posterior means and natural-log variances of every channel on the N shared points.
  folder : str, keyword-only
    Stage folder: inputs, finished blocks and the assembled .npy files. With a
    client it must be on a filesystem shared by this process and every worker.
  client : distributed.Client or None, keyword-only
    None: the blocks run in this process on `num_threads` threads.
  channels : ndarray of shape (k,) (int indices or a K-long bool mask) or None, keyword-only
    Only these channels enter the stage (e.g. `active_channels(information)`);
    None: all K. The matrices' rows follow this order; `result.channels` holds it.
  block_channels : int or None, keyword-only
    Channels per block (None: `default_block_channels(k)`). Blocks hold their fingerprints ([c, N, 2] x 6 float64) and
    [c, c] accumulators, ~0.6 GB at c = N = 1,000.
  num_threads : int or None, keyword-only
    In-process only: blocks computed at once (None: CPUs, at most 8).
  float32_above_bytes : int, keyword-only
    Store NMI / VI in float32 when one float64 matrix would exceed this.
  max_memory_bytes : int, keyword-only
    Row-loop work area of one block task.
  progress : bool or callable(done, total), keyword-only
    True: a bar on stderr counting block pairs; a callable receives the counts.

  Returns
  -------
  PairwiseResult (nmi, vi memory-mapped; information in bits; blocks_reused).

  Raises
  ------
  ValueError
    Inputs of different shapes, non-finite values, bad channel indices or block size.
  scheduler.SharedPathError
    With a client: `folder` is not writable from a worker or not shared with this process.
  """
  from infofrag.fragments import _parallel  # pylint: disable=g-import-not-at-top
  mean_t, logvar_t, channels = _as_inputs(mean, logvar, channels)
  if block_channels is None:
    block_channels = default_block_channels(mean_t.shape[0])
  edges = block_edges(mean_t.shape[0], block_channels)
  folder = os.path.abspath(folder)
  if client is not None:
    from infofrag.distributed import scheduler  # pylint: disable=g-import-not-at-top
    scheduler.check_shared_path(client, folder)
  digest = _prepare(folder, mean_t, logvar_t, edges, max_memory_bytes)
  pairs = block_pairs(len(edges) - 1)
  pending = [pair for pair in pairs if _load_block(folder, *pair) is None]
  reused = len(pairs) - len(pending)
  summary = None
  with contextlib.suppress(OSError, ValueError):
    with open(os.path.join(folder, _SUMMARY)) as f:
      summary = json.load(f)
  expected_dtype = "float32" if 8 * edges[-1]**2 > float32_above_bytes else "float64"
  if (not pending and summary is not None and summary.get("digest") == digest
      and summary.get("dtype") == expected_dtype):
    return load_result(folder, blocks_reused=reused)
  if reused and progress:
    print(f"pairwise NMI/VI: reusing {reused} of {len(pairs)} finished blocks in {folder}",
          file=sys.stderr)
  report = _progress_reporter(progress, len(pairs), reused)
  try:
    if client is None:
      workers = min(_parallel.resolve_num_threads(num_threads), max(1, len(pending)))
      with _parallel.single_threaded_blas():
        with concurrent.futures.ThreadPoolExecutor(workers) as executor:
          futures = [executor.submit(run_block, folder, i, j) for i, j in pending]
          for future in concurrent.futures.as_completed(futures):
            future.result()
            report()
    else:
      from distributed import as_completed  # pylint: disable=g-import-not-at-top
      futures = [client.submit(run_block, folder, i, j, pure=False) for i, j in pending]
      for future in as_completed(futures):
        future.result()
        report()
  finally:
    report(close=True)
  return _assemble(folder, edges, channels, digest, float32_above_bytes, len(pairs), reused)


def _progress_reporter(progress, total: int, initial: int):
  """A report(close=False) callable advancing a tqdm bar or calling progress(done, total)."""
  state = {"done": initial}
  bar = None
  if progress is True:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    bar = tqdm(total=total, initial=initial, desc="pairwise NMI/VI", unit="block", file=sys.stderr)

  def report(close=False):
    if close:
      if bar is not None:
        bar.close()
      return
    state["done"] += 1
    if bar is not None:
      bar.update(1)
    elif callable(progress):
      progress(state["done"], total)
  return report
