"""NMI and VI between every pair of active channels of an ensemble (the paper's pairwise stage).

Cached as ``OUT/cache/<sample key>/pairwise-<digest>.npz``, the digest over the ordered
model keys and the selected channels (so a different or reordered ensemble never reuses
another's matrices).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import threading
from typing import Any, Optional, Sequence

import numpy as np

from infofrag.evaluation import embedding as embedding_lib
from infofrag.utils import io

# Pair accumulators (five float64 [K+1, K+1] arrays per thread) above this size
# switch the pairwise stage from one symmetric call to blocks of channels.
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


def block_channels(count: int, num_threads: int, max_accumulator_bytes: int) -> int:
  """Channels per block so that (block + 1, count + 1) accumulators fit (count: one call)."""
  per_pair = 5 * 8 * num_threads
  if per_pair * (count + 1)**2 <= max_accumulator_bytes:
    return count
  return int(max(1, max_accumulator_bytes // (per_pair * (count + 1)) - 1))


def selected_channels(embeddings: Sequence[embedding_lib.ModelEmbedding], *,
                      include_inactive: bool = False) -> np.ndarray:
  """Positions, among all channels of the ensemble, of the channels that enter the stage.

  Inactive channels (at most `INFO_THRESHOLD_BITS` of information, the paper's cut) carry
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
                      channels: Optional[np.ndarray] = None, client: Any = None,
                      progress: bool = True,
                      max_accumulator_bytes: int = PAIRWISE_ACCUMULATOR_BYTES
                      ) -> PairwiseMatrices:
  """NMI, VI (bits) and information between the channels of an ensemble, cached.

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  cache_dir : str
      Folder of the cache (``pairwise-<key>.npz``, or ``pairwise-<key>/`` on Dask).
  channels : ndarray of shape (k,) or None
      Positions among all channels to compare (default: `selected_channels`).
  client : distributed.Client or None
      None: in this process. Otherwise one Dask task per pair of channel blocks,
      resumable block by block (`infofrag.distributed.pairwise`); the numbers agree with
      the in-process ones to 1e-12.
  progress : bool
      A progress bar on stderr.

  Notes
  -----
  In process, up to about 3,600 channels (2 threads, 2 GiB of accumulators) this is one
  symmetric call: each fingerprint row is computed once and costs one symmetric BLAS
  product. Larger ensembles go in blocks of channels against all later channels (the
  upper triangle, mirrored), so memory stays bounded at the price of recomputing column
  fingerprints.
  """
  if channels is None:
    channels = selected_channels(embeddings)
  channels = np.asarray(channels, dtype=np.int64)
  key = stage_key(embeddings, channels)
  mean, logvar = embedding_lib.concatenated(embeddings)
  if client is not None and channels.size:
    from infofrag.distributed import pairwise as distributed_pairwise  # pylint: disable=g-import-not-at-top
    result = distributed_pairwise.pairwise_nmi_vi_blocks(
        mean, logvar, folder=os.path.join(cache_dir, f"pairwise-{key}"), client=client,
        channels=channels, progress=progress)
    return PairwiseMatrices(np.asarray(result.nmi, dtype=np.float64),
                            np.asarray(result.vi, dtype=np.float64), result.information,
                            channels, result.tasks_reused == result.tasks_total)
  path = os.path.join(cache_dir, f"pairwise-{key}.npz")
  stored = io.load_npz_or_set_aside(path, ("nmi", "vi", "information"))
  if stored is not None:
    return PairwiseMatrices(stored["nmi"], stored["vi"], stored["information"], channels, True)
  nmi, vi, information = pairwise_nmi_vi(mean[:, channels], logvar[:, channels],
                                         progress=progress,
                                         max_accumulator_bytes=max_accumulator_bytes)
  with io.atomic_path(path) as tmp:
    np.savez(tmp, nmi=nmi, vi=vi, information=information)
  return PairwiseMatrices(nmi, vi, information, channels, False)


def pairwise_nmi_vi(mean: np.ndarray, logvar: np.ndarray, *, progress: bool = True,
                    max_accumulator_bytes: int = PAIRWISE_ACCUMULATOR_BYTES
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(nmi, vi, information) of the channels of posteriors of shape (n, k), in process."""
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  from infofrag.fragments import _parallel  # pylint: disable=g-import-not-at-top
  count, num_points = mean.shape[1], mean.shape[0]
  if count == 0:  # e.g. every channel of a collapsed ensemble is inactive
    return np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0)
  block = block_channels(count, _parallel.resolve_num_threads(None), max_accumulator_bytes)
  starts = range(0, count, block)
  lock = threading.Lock()
  with tqdm(total=num_points * len(starts), desc="pairwise NMI/VI", unit="row",
            disable=not progress, file=sys.stderr) as bar:
    def advance(rows):
      with lock:  # called from the worker threads
        bar.update(rows)
    if block == count:
      terms = fragments.pairwise_information_terms(fragments.LazyFingerprints(mean, logvar),
                                                   progress=advance)
      nmi, vi = fragments.nmi_vi_from_terms(terms)
      return nmi, vi, np.asarray(terms.info_a, dtype=np.float64)
    nmi, vi, information = np.zeros((count, count)), np.zeros((count, count)), np.zeros(count)
    for start in starts:
      stop = min(count, start + block)
      terms = fragments.pairwise_information_terms(
          fragments.LazyFingerprints(mean[:, start:stop], logvar[:, start:stop]),
          fragments.LazyFingerprints(mean[:, start:], logvar[:, start:]), progress=advance)
      block_nmi, block_vi = fragments.nmi_vi_from_terms(terms)
      nmi[start:stop, start:], vi[start:stop, start:] = block_nmi, block_vi
      nmi[start:, start:stop], vi[start:, start:stop] = block_nmi.T, block_vi.T
      information[start:stop] = terms.info_a
  return nmi, vi, information
