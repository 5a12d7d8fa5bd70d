"""NMI and VI between every pair of active channels of an ensemble (the paper's pairwise stage).

Cached as ``OUT/cache/<sample key>/pairwise-<digest>.npz`` (one in-process call) or in the
folder ``pairwise-<digest>/`` of `infofrag.analysis.pairwise_blocks` (tasks of channel blocks: on
Dask, or too many channels for one call), the digest over the ordered model keys and the
selected channels (so a different or reordered ensemble never reuses another's matrices).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
import threading
from typing import Any, Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import pairwise_blocks as distributed_pairwise
from infofrag.fragments import _parallel
from infofrag.utils import io
from infofrag.utils import layout

# Pair accumulators (five float64 [K+1, K+1] arrays per thread) above this size
# switch the in-process stage from one symmetric call to tasks of channel blocks.
PAIRWISE_ACCUMULATOR_BYTES = 2 * 2**30


@dataclasses.dataclass
class PairwiseMatrices:
  """NMI and VI over all channels of an ensemble.

  Attributes
  ----------
  nmi : ndarray of shape (k, k)
  vi : ndarray of shape (k, k), bits
  information : ndarray of shape (k,), bits
  channels : ndarray of shape (k,), int64
      Position of each row among all channels of the ensemble (the active channels
      unless inactive ones were asked for).
  cached : bool
      Read from the cache rather than computed.
  """
  nmi: np.ndarray
  vi: np.ndarray
  information: np.ndarray
  channels: np.ndarray
  cached: bool


def block_channels(count: int, num_threads: int, max_accumulator_bytes: int) -> int | None:
  """None when one symmetric call over `count` channels fits the accumulator budget.

  Otherwise the channels per block of `pairwise_nmi_vi_blocks` tasks such that
  `num_threads` tasks at a time (each with [c + 1, c + 1] accumulators) fit it, at
  most the distributed stage's default block.
  """
  per_pair = 5 * 8 * num_threads
  if per_pair * (count + 1)**2 <= max_accumulator_bytes:
    return None
  fitting = math.isqrt(max_accumulator_bytes // per_pair) - 1
  return int(max(1, min(distributed_pairwise.DEFAULT_BLOCK_CHANNELS, fitting)))


def selected_channels(embeddings: Sequence[embedding_lib.ModelEmbedding], *,
                      include_inactive: bool = False) -> np.ndarray:
  """Positions, among all channels of the ensemble, of the channels that enter the stage.

  Inactive channels (at most `fragments.ACTIVE_BITS` of information, the paper's cut) carry
  nothing to compare, so they are left out unless `include_inactive`.
  """
  active = np.concatenate([e.active for e in embeddings])
  if include_inactive:
    active[:] = True
  return np.flatnonzero(active).astype(np.int64)


def stage_key(embeddings: Sequence[embedding_lib.ModelEmbedding], channels: np.ndarray) -> str:
  """Digest of the ordered model keys and the selected channels."""
  keys = [embedding_lib.model_key(e.info.model_dir) for e in embeddings]
  digest = hashlib.sha1("|".join(keys).encode())
  digest.update(np.ascontiguousarray(channels, dtype=np.int64).tobytes())
  return digest.hexdigest()[:16]


def ensemble_pairwise(embeddings: Sequence[embedding_lib.ModelEmbedding], *, cache_dir: str,
                      channels: np.ndarray | None = None, client: Any = None,
                      progress: bool = True,
                      max_accumulator_bytes: int = PAIRWISE_ACCUMULATOR_BYTES
                      ) -> PairwiseMatrices:
  """NMI, VI (bits) and information between the channels of an ensemble, cached.

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  cache_dir : str
      Folder of the cache: ``pairwise-<key>.npz`` for one call, ``pairwise-<key>/`` for
      tasks (on Dask, or above the accumulator budget).
  channels : ndarray of shape (k,) or None
      Positions among all channels to compare (default: `selected_channels`).
  client : distributed.Client or None
      None: in this process. Otherwise one Dask task per pair of channel blocks,
      resumable block by block (`infofrag.analysis.pairwise_blocks`); the numbers agree with
      the in-process ones to 1e-12.
  progress : bool
      A progress bar on stderr.
  max_accumulator_bytes : int
      Accumulators of one symmetric call above this go to tasks of channel blocks
      instead, sized so that the threads' tasks fit it.

  Notes
  -----
  In process, up to about 5,100 channels (2 threads, 2 GiB of accumulators; fewer with
  more threads) this is one
  symmetric call: each fingerprint row is computed once and costs one symmetric BLAS
  product. Larger ensembles run the tasks of `pairwise_nmi_vi_blocks` on this process's
  threads (blocks of up to 2,000 channels and ranges of points, resumable, in
  ``pairwise-<key>/``), so memory stays bounded at the price of rebuilding each block's
  fingerprints once per pair of blocks.
  """
  if channels is None:
    channels = selected_channels(embeddings)
  channels = np.asarray(channels, dtype=np.int64)
  key = stage_key(embeddings, channels)
  mean, logvar = embedding_lib.concatenated(embeddings)
  block = block_channels(channels.size, _parallel.resolve_num_threads(None), max_accumulator_bytes)
  if channels.size and (client is not None or block is not None):
    result = distributed_pairwise.pairwise_nmi_vi_blocks(
        mean, logvar, folder=layout.pairwise_cache(cache_dir, key, blocked=True), client=client,
        channels=channels, block_channels=None if client is not None else block,
        progress=progress)
    return PairwiseMatrices(np.asarray(result.nmi, dtype=np.float64),
                            np.asarray(result.vi, dtype=np.float64), result.information,
                            channels, result.tasks_reused == result.tasks_total)
  path = layout.pairwise_cache(cache_dir, key, blocked=False)
  stored = io.load_npz_or_set_aside(path, ("nmi", "vi", "information"))
  if stored is not None:
    return PairwiseMatrices(stored["nmi"], stored["vi"], stored["information"], channels, True)
  nmi, vi, information = pairwise_nmi_vi(mean[:, channels], logvar[:, channels],
                                         progress=progress)
  with io.atomic_path(path) as tmp:
    np.savez(tmp, nmi=nmi, vi=vi, information=information)
  return PairwiseMatrices(nmi, vi, information, channels, False)


def pairwise_nmi_vi(mean: np.ndarray, logvar: np.ndarray, *, progress: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(nmi, vi, information) of the channels of posteriors of shape (n, k): one symmetric call.

  Parameters
  ----------
  mean, logvar : ndarray of shape (n, k)
    Posterior means and natural-log variances.
  progress : bool, keyword-only
    A progress bar on stderr, counting points.

  Returns
  -------
  nmi : ndarray of shape (k, k)
  vi : ndarray of shape (k, k), bits
  information : ndarray of shape (k,), bits
  """
  from tqdm import tqdm
  count, num_points = mean.shape[1], mean.shape[0]
  if count == 0:  # e.g. every channel of a collapsed ensemble is inactive
    return np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0)
  lock = threading.Lock()
  with tqdm(total=num_points, desc="pairwise NMI/VI", unit="row", disable=not progress,
            file=sys.stderr) as bar:
    def advance(rows):
      with lock:  # called from the worker threads
        bar.update(rows)
    terms = fragments.pairwise_information_terms(fragments.LazyFingerprints(mean, logvar),
                                                 progress=advance)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  return nmi, vi, np.asarray(terms.info_a, dtype=np.float64)
