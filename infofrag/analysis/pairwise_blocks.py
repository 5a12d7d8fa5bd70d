"""NMI / VI between channels in blocks of channels and ranges of points: resumable tasks.

The channels (columns of the posterior means / log-variances, [N, K]) are cut into
blocks of `block_channels`, and the N points (the rows of every fingerprint) into
`row_chunks` ranges. Each pair of blocks (i, j) with i <= j, the upper triangle,
times each range r of points is one task: it builds the fingerprints (Bhattacharyya
distance matrices, the paper's Bhattacharyya estimates) of its two blocks on its
points itself from their [N, c] means and log-variances, sums the row terms behind
I(Da), I(2 Da), I(Db), I(2 Db) and I(Da + Db) of every pair over its points
(`infofrag.fragments.pairwise_row_sums`, one thread), and writes them atomically to
FOLDER/blocks/<i>-<j>-<r>.npz. A task therefore needs only its blocks' inputs, which
it reads from FOLDER/inputs/ (a path every worker sees), and returns a few numbers.

Splitting the points costs nothing extra (each coefficient is still computed once
per block pair), so it is how the work is balanced when there are few block pairs:
by default a stage has at least `MIN_TASKS` tasks, and `TASKS_PER_WORKER` per worker.
Smaller blocks would balance too, but every block pair rebuilds its blocks' fingerprints.

Because every finished task is on disk, a rerun after the client or a worker was
killed computes only the missing tasks (and says how many it reused). The inputs'
digest (with the channels and the block and range edges) is recorded in
FOLDER/plan.json; tasks of other inputs are discarded, and the tasks' files are
removed once the stage is assembled.

Assembly adds each block pair's ranges in order (`combine_row_sums`), turns them into
bits (`terms_from_row_sums`) and then into NMI and VI (`nmi_vi_from_terms`, the
paper's NMI = (I_a + I_b - I_ab) / sqrt((2 I_a - I_aa)(2 I_b - I_bb)) and
VI = 2 I_ab - I_aa - I_bb), mirrors them, and writes FOLDER/nmi.npy and
FOLDER/vi.npy, which `np.load(..., mmap_mode='r')` maps without reading them:
float64 up to `float32_above_bytes` per matrix, float32 above (NMI and VI are
then rounded once, to ~6e-8 relative). FOLDER/pairwise.json records the dtype.

The same task function runs in-process (client=None, a thread per task with
single-threaded BLAS) or on Dask workers (one single-threaded task each). Both
give bit-identical matrices; against `pairwise_information_terms` on all channels
at once they agree to ~1e-13 (other BLAS and row summation orders).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from typing import Any, Callable

import numpy as np

from infofrag import fragments
from infofrag.distributed import scheduler
from infofrag.distributed import tasks
from infofrag.fragments import _parallel
from infofrag.fragments import structure as fragments_structure
from infofrag.utils import io

# Default block size. A block pair rebuilds its two blocks' fingerprints, a cost
# per pair that falls as 1 / block size (blocks of 1,000 channels cost 18% more CPU
# than one call over 2,000 channels at N = 1,000, one block of 2,000 nothing), while
# a task's accumulators take 40 bytes per pair of its block pair: 160 MB at 2,000.
DEFAULT_BLOCK_CHANNELS = 2000
# Default number of tasks a stage is cut into at least (by ranges of points), and
# per worker, so that the workers finish together: the last round of tasks leaves
# a worker idle for at most about one task, a quarter of its share or less.
MIN_TASKS = 16
TASKS_PER_WORKER = 4
# Default ranges of points are not cut below this many rows (per-task costs).
MIN_ROWS_PER_TASK = 50
# NMI / VI matrices above this size (bytes in float64) are stored in float32.
FLOAT32_ABOVE_BYTES = 256 * 2**20
# Work area of one task: its accumulators (160 MB for two blocks of 2,000 channels)
# and groups of coefficient rows (32 MB per row at N = 1,000; groups of ~10 rows keep
# the per-channel Python steps negligible).
BLOCK_WORK_BYTES = 512 * 2**20

_PLAN = "plan.json"
_SUMMARY = "pairwise.json"
_SUMS_A = ("log_sum_ab", "lse_a", "lse_aa", "max_sum_a")
_SUMS_B = ("lse_b", "lse_bb", "max_sum_b")


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
  tasks_total : int
    Tasks of the stage: block pairs of the upper triangle times ranges of points.
  tasks_reused : int
    Tasks found finished on disk instead of computed.
  folder : str
  """
  nmi: np.ndarray
  vi: np.ndarray
  information: np.ndarray
  channels: np.ndarray
  dtype: str
  tasks_total: int
  tasks_reused: int
  folder: str


def active_channels(information: np.ndarray, *, threshold_bits: float = fragments_structure.ACTIVE_BITS) -> np.ndarray:
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
  """min(DEFAULT_BLOCK_CHANNELS, K): blocks of 2,000 channels; ranges of points balance the work."""
  return int(max(1, min(DEFAULT_BLOCK_CHANNELS, num_channels)))


def block_pairs(num_blocks: int) -> list[tuple[int, int]]:
  """The upper triangle (i, j), i <= j, largest work first (off-diagonal pairs)."""
  pairs = [(i, j) for i in range(num_blocks) for j in range(i, num_blocks)]
  return sorted(pairs, key=lambda pair: pair[0] == pair[1])


def default_row_chunks(num_block_pairs: int, num_points: int, num_workers: int = 1) -> int:
  """Ranges of points per block pair.

  Enough for max(`MIN_TASKS`, `TASKS_PER_WORKER` x `num_workers`) tasks, but no
  range under `MIN_ROWS_PER_TASK` points. With up to 4 workers the cut does not
  depend on their number, so in-process and LocalCluster runs of a few workers
  give bit-identical matrices; other cuts agree to ~1e-15.
  """
  wanted_tasks = max(MIN_TASKS, TASKS_PER_WORKER * int(num_workers))
  wanted = -(-wanted_tasks // max(1, num_block_pairs))
  return int(max(1, min(wanted, num_points // MIN_ROWS_PER_TASK)))


def row_edges(num_points: int, row_chunks: int) -> np.ndarray:
  """Edges [0, ..., N] of `row_chunks` nearly equal ranges of points (int64)."""
  if int(row_chunks) != row_chunks or not 1 <= row_chunks <= num_points:
    raise ValueError(f"row_chunks must be an integer in 1..N = {num_points}; got {row_chunks!r}.")
  return np.array([num_points * k // int(row_chunks) for k in range(int(row_chunks) + 1)],
                  dtype=np.int64)


def stage_tasks(num_blocks: int, num_row_chunks: int) -> list[tuple[int, int, int]]:
  """Every task (row_block, column_block, row_chunk), largest work first."""
  return [(i, j, r) for i, j in block_pairs(num_blocks) for r in range(num_row_chunks)]


def _task_path(folder: str, row_block: int, column_block: int, row_chunk: int) -> str:
  return os.path.join(folder, "blocks", f"{row_block:05d}-{column_block:05d}-{row_chunk:05d}.npz")


def _load_task(folder: str, row_block: int, column_block: int, row_chunk: int) -> dict | None:
  """The stored row sums of one task, or None when absent or unreadable."""
  path = _task_path(folder, row_block, column_block, row_chunk)
  if not os.path.exists(path):
    return None
  names = _SUMS_A + (() if row_block == column_block else _SUMS_B)
  try:
    with np.load(path) as stored:
      return {name: stored[name] for name in names}
  except (OSError, ValueError, KeyError, EOFError):
    return None


def _read_plan(folder: str) -> dict | None:
  try:
    with open(os.path.join(folder, _PLAN)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


@functools.lru_cache(maxsize=2)
def _block_fingerprints(folder: str, digest: str, index: int):
  """LazyFingerprints of one block, kept for this process's next tasks (two blocks at most).

  Building them costs ~0.4 s per 1,000 channels at N = 1,000, against a few seconds
  for a task, and a worker runs many tasks of the same blocks (one per range of points).
  The digest in the key keeps blocks of other inputs apart.
  """
  plan = _read_plan(folder)
  if plan is None or plan.get("digest") != digest:
    raise RuntimeError(f"the pairwise stage in {folder} changed while its tasks ran; rerun it.")
  channels = slice(plan["edges"][index], plan["edges"][index + 1])
  means = np.load(os.path.join(folder, "inputs", "mean_t.npy"), mmap_mode="r")
  logvars = np.load(os.path.join(folder, "inputs", "logvar_t.npy"), mmap_mode="r")
  return fragments.LazyFingerprints(np.array(means[channels]).T, np.array(logvars[channels]).T)


def _release_fingerprints(client: Any) -> None:
  """Drops the blocks' fingerprints kept for next tasks, here or on every worker."""
  if client is None:
    _block_fingerprints.cache_clear()
    return
  with contextlib.suppress(Exception):  # a dead or departing worker keeps nothing anyway
    client.run(_block_fingerprints.cache_clear)


def run_task(folder: str, row_block: int, column_block: int, row_chunk: int) -> dict:
  """One task: computes and persists the row sums of one block pair over one range of points.

  Reads the two blocks' means and log-variances from FOLDER/inputs/ (written by
  `pairwise_nmi_vi_blocks`), computes their row sums (`fragments.pairwise_row_sums`, one thread) over range
  `row_chunk` of the plan's points and writes them atomically to
  FOLDER/blocks/<row>-<column>-<chunk>.npz.
  A task already on disk (e.g. written by a worker that died afterwards) is not
  recomputed. Top-level and picklable, so it can be submitted to any Dask client.

  Parameters
  ----------
  folder : str
    The stage folder, on a path this process can read and write.
  row_block, column_block : int
    Block indices, row_block <= column_block.
  row_chunk : int
    Index of the range of points.

  Returns
  -------
  dict: task (the three indices), seconds (compute time, 0 when found), computed (bool).
  """
  task = (row_block, column_block, row_chunk)
  if _load_task(folder, *task) is not None:
    return {"task": task, "seconds": 0.0, "computed": False}
  plan = _read_plan(folder)
  if plan is None:
    raise FileNotFoundError(f"{os.path.join(folder, _PLAN)} is missing or unreadable: the "
                            "pairwise folder must be on a path shared with the client.")
  start = time.perf_counter()
  source_a = _block_fingerprints(folder, plan["digest"], row_block)
  source_b = None if row_block == column_block else _block_fingerprints(folder, plan["digest"],
                                                                        column_block)
  points = plan["row_edges"]
  sums = fragments.pairwise_row_sums(source_a, source_b,
                                     rows=(points[row_chunk], points[row_chunk + 1]),
                                     num_threads=1, max_memory_bytes=plan["max_memory_bytes"])
  with io.atomic_path(_task_path(folder, *task)) as tmp:
    np.savez(tmp, **sums)
  return {"task": task, "seconds": time.perf_counter() - start, "computed": True}


def _digest(*arrays: np.ndarray) -> str:
  digest = hashlib.sha256()
  for array in arrays:
    digest.update(str(array.shape).encode())
    digest.update(np.ascontiguousarray(array).data)
  return digest.hexdigest()[:24]


def _planned_row_edges(folder: str, inputs_digest: str) -> np.ndarray | None:
  """The cut of points of the stage planned in `folder` for these inputs, or None."""
  plan = _read_plan(folder)
  if plan is None or plan.get("inputs_digest") != inputs_digest:
    return None
  return np.asarray(plan["row_edges"], dtype=np.int64)


def _prepare(folder: str, mean_t: np.ndarray, logvar_t: np.ndarray, inputs_digest: str,
             edges: np.ndarray, points: np.ndarray, max_memory_bytes: int) -> str:
  """Writes the inputs and plan unless the folder already holds these inputs; returns the digest.

  Tasks of other inputs or another cut (another digest) are removed, as are their outputs.
  """
  digest = _digest(np.frombuffer(inputs_digest.encode(), dtype=np.uint8), points)
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
      "digest": digest, "inputs_digest": inputs_digest,
      "num_channels": int(mean_t.shape[0]), "num_points": int(mean_t.shape[1]),
      "edges": [int(e) for e in edges], "row_edges": [int(e) for e in points],
      "max_memory_bytes": int(max_memory_bytes)})
  return digest


def _assemble(folder: str, edges: np.ndarray, points: np.ndarray, channels: np.ndarray,
              digest: str, float32_above_bytes: int, tasks_total: int,
              tasks_reused: int) -> PairwiseResult:
  """Writes nmi.npy / vi.npy (memory-mappable), information.npy, channels.npy and pairwise.json."""
  count, num_points = int(edges[-1]), int(points[-1])
  dtype = np.dtype(np.float32 if 8 * count * count > float32_above_bytes else np.float64)
  information = np.zeros(count)
  paths = {name: os.path.join(folder, f"{name}.npy") for name in ("nmi", "vi")}
  with io.atomic_path(paths["nmi"]) as nmi_tmp, io.atomic_path(paths["vi"]) as vi_tmp:
    nmi = np.lib.format.open_memmap(nmi_tmp, mode="w+", dtype=dtype, shape=(count, count))
    vi = np.lib.format.open_memmap(vi_tmp, mode="w+", dtype=dtype, shape=(count, count))
    for i, j in block_pairs(len(edges) - 1):
      parts = [_load_task(folder, i, j, r) for r in range(len(points) - 1)]
      if any(part is None for part in parts):
        raise RuntimeError(f"a task of block pair {i}-{j} in {folder} vanished before assembly; "
                           "rerun to compute it again.")
      terms = fragments.terms_from_row_sums(fragments.combine_row_sums(parts), num_points)
      rows, columns = slice(edges[i], edges[i + 1]), slice(edges[j], edges[j + 1])
      block_nmi, block_vi = fragments.nmi_vi_from_terms(terms)
      nmi[rows, columns], vi[rows, columns] = block_nmi, block_vi
      if i != j:
        nmi[columns, rows], vi[columns, rows] = block_nmi.T, block_vi.T
      else:
        information[rows] = terms.info_a
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
      "tasks_total": tasks_total, "tasks_reused": tasks_reused})
  # The assembled files now answer a rerun; the tasks' row sums (8 bytes per pair
  # of each block pair and range of points) are no longer needed.
  for i, j, r in stage_tasks(len(edges) - 1, len(points) - 1):
    with contextlib.suppress(FileNotFoundError):
      os.remove(_task_path(folder, i, j, r))
  return load_result(folder, tasks_reused=tasks_reused)


def _assembled(folder: str, digest: str, dtype: str) -> bool:
  """Whether `folder` holds the assembled stage of these inputs, stored in `dtype`."""
  try:
    with open(os.path.join(folder, _SUMMARY)) as f:
      summary = json.load(f)
  except (OSError, ValueError):
    return False
  return (summary.get("digest") == digest and summary.get("dtype") == dtype
          and all(os.path.exists(os.path.join(folder, name))
                  for name in summary.get("files", {}).values()))


def load_result(folder: str, *, tasks_reused: int | None = None) -> PairwiseResult:
  """The assembled result stored in `folder` (matrices memory-mapped read-only)."""
  with open(os.path.join(folder, _SUMMARY)) as f:
    summary = json.load(f)
  return PairwiseResult(
      nmi=np.load(os.path.join(folder, "nmi.npy"), mmap_mode="r"),
      vi=np.load(os.path.join(folder, "vi.npy"), mmap_mode="r"),
      information=np.load(os.path.join(folder, "information.npy")),
      channels=np.load(os.path.join(folder, "channels.npy")),
      dtype=summary["dtype"], tasks_total=summary["tasks_total"],
      tasks_reused=summary["tasks_total"] if tasks_reused is None else tasks_reused,
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
                           client: Any = None, channels: np.ndarray | None = None,
                           block_channels: int | None = None,
                           row_chunks: int | None = None,
                           num_threads: int | None = None,
                           float32_above_bytes: int = FLOAT32_ABOVE_BYTES,
                           max_memory_bytes: int = BLOCK_WORK_BYTES,
                           progress: bool | Callable[[int, int], None] = False) -> PairwiseResult:
  """NMI and VI between channels, one task per pair of channel blocks and range of points, resumable.

  Parameters
  ----------
  mean, logvar : ndarray of shape (n, K)
    Posterior means and natural-log variances of every channel on the N shared points.
  folder : str, keyword-only
    Stage folder: inputs, finished tasks and the assembled .npy files. With a
    client it must be on a filesystem shared by this process and every worker.
  client : distributed.Client or None, keyword-only
    None: the tasks run in this process on `num_threads` threads.
  channels : ndarray of shape (k,) (int indices or a K-long bool mask) or None, keyword-only
    Only these channels enter the stage (e.g. `active_channels(information)`);
    None: all K. The matrices' rows follow this order; `result.channels` holds it.
  block_channels : int or None, keyword-only
    Channels per block (None: `default_block_channels(k)`, 2,000). A task holds
    [c, c] accumulators (40 bytes per pair) within `max_memory_bytes`; larger
    blocks rebuild fewer fingerprints.
  row_chunks : int or None, keyword-only
    Ranges of points each block pair is cut into, one task each (None:
    `default_row_chunks` for the threads or the client's worker threads; a rerun
    keeps the cut of the run it resumes). The matrices depend (at ~1e-15) on this
    cut and on `block_channels`, not on where the tasks run.
  num_threads : int or None, keyword-only
    In-process only: tasks computed at once (None: CPUs, at most 8).
  float32_above_bytes : int, keyword-only
    Store NMI / VI in float32 when one float64 matrix would exceed this.
  max_memory_bytes : int, keyword-only
    Row-loop work area of one task.
  progress : bool or callable(done, total), keyword-only
    True: a bar on stderr counting tasks; a callable receives the counts.

  Returns
  -------
  PairwiseResult (nmi, vi memory-mapped; information in bits; tasks_reused).

  Raises
  ------
  ValueError
    Inputs of different shapes, non-finite values, bad channel indices, block size or row chunks.
  scheduler.SharedPathError
    With a client: `folder` is not writable from a worker or not shared with this process.
  """
  mean_t, logvar_t, channels = _as_inputs(mean, logvar, channels)
  if block_channels is None:
    block_channels = default_block_channels(mean_t.shape[0])
  edges = block_edges(mean_t.shape[0], block_channels)
  num_points = mean_t.shape[1]
  folder = os.path.abspath(folder)
  inputs_digest = _digest(mean_t, logvar_t, channels, edges)
  if row_chunks is not None:
    points = row_edges(num_points, row_chunks)
  else:
    # A rerun keeps the cut it started with, however many workers it finds now.
    points = _planned_row_edges(folder, inputs_digest)
    if points is None:
      workers = (_parallel.resolve_num_threads(num_threads) if client is None
                 else sum(client.nthreads().values()))
      points = row_edges(num_points, default_row_chunks(len(block_pairs(len(edges) - 1)),
                                                        num_points, workers))
  if client is not None:
    scheduler.check_shared_path(client, folder)
  digest = _prepare(folder, mean_t, logvar_t, inputs_digest, edges, points, max_memory_bytes)
  expected_dtype = "float32" if 8 * edges[-1]**2 > float32_above_bytes else "float64"
  if _assembled(folder, digest, expected_dtype):
    return load_result(folder)
  planned = stage_tasks(len(edges) - 1, len(points) - 1)
  pending = [task for task in planned if _load_task(folder, *task) is None]
  reused = len(planned) - len(pending)
  if reused and progress:
    print(f"pairwise NMI/VI: reusing {reused} of {len(planned)} finished tasks in {folder}",
          file=sys.stderr)
  report = _progress_reporter(progress, len(planned), reused)
  try:
    threads = min(_parallel.resolve_num_threads(num_threads), max(1, len(pending)))
    # In-process tasks share the cores: one BLAS thread each.
    blas = _parallel.single_threaded_blas() if client is None else contextlib.nullcontext()
    calls = [(folder, *task) for task in pending]
    with blas, tasks.run_tasks(run_task, calls, client=client, threads=threads) as finished:
      for _, future in finished:
        future.result()
        report()
  finally:
    report(close=True)
    _release_fingerprints(client)
  return _assemble(folder, edges, points, channels, digest, float32_above_bytes, len(planned),
                   reused)


def _progress_reporter(progress, total: int, initial: int):
  """A report(close=False) callable advancing a tqdm bar or calling progress(done, total)."""
  state = {"done": initial}
  bar = None
  if progress is True:
    from tqdm import tqdm
    bar = tqdm(total=total, initial=initial, desc="pairwise NMI/VI", unit="task", file=sys.stderr)

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
