"""Each model embedded on its dataset's fingerprint sample, with its per-channel analysis.

Per model: the posterior means and log-variances of every sample point, each channel's
information (the paper's Bhattacharyya bound, bits), the information of all channels
together, and each channel's NMI / VI with every factor. Cached as
``OUT/cache/<sample key>/<model key>.npz``; the key digests the model's resolved path and
saved weights, so replaced weights are never served from the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
from typing import Any, Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import sample as sample_lib
from infofrag.distributed import tasks
from infofrag.fragments import structure as fragments_structure
from infofrag.utils import io
from infofrag.utils import layout
from infofrag.zoo import loading as models_lib
from infofrag.zoo import model_info
from infofrag.zoo import saved_model

CACHE_VERSION = 1
# A Gaussian encoder's posteriors lie well inside these bounds; values outside them are an
# overflow or a wrong output convention, and would make channels look more (or less)
# informative than log2(N) bits allows.
MAX_ABS_MEAN = 1e8
LOGVAR_RANGE = (-100.0, 100.0)
_CACHED_ARRAYS = ("version", "mean", "logvar", "channel_information", "total_information",
                  "factor_nmi", "factor_vi")


@dataclasses.dataclass
class ModelEmbedding:
  """One model's channel analysis on a fingerprint sample.

  Attributes
  ----------
  info : ModelInfo
  mean, logvar : ndarray of shape (n, c), float64
      Posterior means and log-variances (natural log) of the n sample points.
  channel_information : ndarray of shape (c,)
      Information of each channel about the sample, bits.
  total_information : float
      Information of all c channels together, bits.
  factor_nmi : ndarray of shape (c, n_factors)
  factor_vi : ndarray of shape (c, n_factors), bits
  """
  info: model_info.ModelInfo
  mean: np.ndarray
  logvar: np.ndarray
  channel_information: np.ndarray
  total_information: float
  factor_nmi: np.ndarray
  factor_vi: np.ndarray

  @property
  def num_channels(self) -> int:
    return int(self.mean.shape[1])

  @property
  def active(self) -> np.ndarray:
    """ndarray of shape (c,), bool: channels above `fragments.ACTIVE_BITS`."""
    return self.channel_information > fragments_structure.ACTIVE_BITS


class PosteriorError(ValueError):
  """A model's posteriors are not finite or out of the range of a Gaussian encoder."""


def _channel_list(bad: np.ndarray) -> str:
  channels = np.flatnonzero(bad)
  shown = ", ".join(str(c) for c in channels[:8])
  return shown + (f" and {channels.size - 8} more" if channels.size > 8 else "")


def check_posteriors(mean: np.ndarray, logvar: np.ndarray, *, model: str) -> None:
  """Rejects non-finite or overflowing posteriors, naming the model and the channels.

  Parameters
  ----------
  mean, logvar : ndarray of shape (n, c)
      Posterior means and natural-log variances.
  model : str
      The model's name or folder, for the message.

  Raises
  ------
  PosteriorError
      When a channel holds NaN or inf, a mean beyond ±`MAX_ABS_MEAN`, or a log-variance
      outside `LOGVAR_RANGE`.
  """
  for what, values in (("mean", mean), ("log-variance", logvar)):
    bad = ~np.all(np.isfinite(values), axis=0)
    if bad.any():
      raise PosteriorError(f"model {model}: posterior {what} of channel(s) {_channel_list(bad)} "
                           "is NaN or inf on the fingerprint points; check the encoder's "
                           "weights and output convention.")
  low, high = LOGVAR_RANGE
  checks = (("mean", np.any(np.abs(mean) > MAX_ABS_MEAN, axis=0), f"beyond ±{MAX_ABS_MEAN:g}"),
            ("log-variance", np.any((logvar < low) | (logvar > high), axis=0),
             f"outside [{low:g}, {high:g}]"))
  for what, bad, bound in checks:
    if bad.any():
      raise PosteriorError(f"model {model}: posterior {what} of channel(s) {_channel_list(bad)} "
                           f"is {bound} (an overflow or a wrong output convention); check the "
                           "encoder's outputs.")


def check_information(information: np.ndarray, num_points: int, *, model: str) -> None:
  """Rejects channel information that is not finite or above log2(n) bits (an overflow)."""
  limit = np.log2(num_points) * (1 + 1e-9)
  bad = ~np.isfinite(information) | (information > limit)
  if bad.any():
    raise PosteriorError(f"model {model}: channel(s) {_channel_list(bad)} would carry more than "
                         f"log2({num_points}) = {np.log2(num_points):.3f} bits about the "
                         "fingerprint points, which is impossible (numerical overflow); check "
                         "the encoder's outputs.")


def posterior_digest(embedding: ModelEmbedding) -> str:
  """SHA-1 of the posterior means and log-variances: equal for models that compute the same
  function on the sample (identical weights, a copied folder, a repeated seed)."""
  digest = hashlib.sha1(np.ascontiguousarray(embedding.mean).tobytes())
  digest.update(np.ascontiguousarray(embedding.logvar).tobytes())
  return digest.hexdigest()


# Posteriors this close are one model computed twice (the same weights run by TensorFlow
# and by onnxruntime differ in float32 rounding, ~1e-7 relative).
DUPLICATE_RTOL = 1e-5
DUPLICATE_ATOL = 1e-6


def _same_posteriors(a: ModelEmbedding, b: ModelEmbedding) -> bool:
  return (a.mean.shape == b.mean.shape
          and np.allclose(a.mean, b.mean, rtol=DUPLICATE_RTOL, atol=DUPLICATE_ATOL)
          and np.allclose(a.logvar, b.logvar, rtol=DUPLICATE_RTOL, atol=DUPLICATE_ATOL))


def split_duplicates(embeddings: Sequence[ModelEmbedding]
                     ) -> tuple[list[ModelEmbedding], list[models_lib.DuplicateModel]]:
  """(first model of each distinct posterior, the repeats) in the given order.

  A hotspot is information found again by independent runs: a model that repeats another
  (bit for bit, or to float32 precision: `DUPLICATE_RTOL`, e.g. one model as a SavedModel
  and as its ONNX export) would pair every channel with its own copy at NMI 1, so it is
  counted once. Only models whose channel informations agree to 1e-3 bits are compared.
  """
  exact: dict[str, ModelEmbedding] = {}
  buckets: dict[tuple, list[ModelEmbedding]] = {}
  kept, duplicates = [], []
  for embedding in embeddings:
    key = posterior_digest(embedding)
    bucket = buckets.setdefault(
        (embedding.mean.shape,) + tuple(np.round(embedding.channel_information, 3)), [])
    if key in exact:
      original, reason = exact[key], "identical posteriors"
    else:
      original = next((e for e in bucket if _same_posteriors(e, embedding)), None)
      reason = "the same posteriors to float32 precision"
    if original is not None:
      duplicates.append(models_lib.DuplicateModel(embedding.info.model_dir, embedding.info.name,
                                                  original.info.name, reason))
      continue
    exact[key] = embedding
    bucket.append(embedding)
    kept.append(embedding)
  return kept, duplicates


def model_key(model_dir: str) -> str:
  """Cache key of a model: folder name + digest of its resolved path and saved weights."""
  digest = hashlib.sha1(os.path.realpath(model_dir).encode())
  digest.update(model_info.weights_digest(model_dir).encode())
  return f"{os.path.basename(os.path.normpath(model_dir))}-{digest.hexdigest()[:12]}"


def channel_statistics(mean: np.ndarray, logvar: np.ndarray, factor_fingerprints: np.ndarray
                       ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
  """Per-channel information, total information, and NMI / VI with every factor.

  Parameters
  ----------
  mean, logvar : ndarray of shape (n, c)
  factor_fingerprints : ndarray of shape (n_factors, n, n)
      `infofrag.fragments.factor_fingerprints` of the sample's labels.

  Returns
  -------
  information : ndarray of shape (c,), bits
  total : float, bits (all channels as one space)
  nmi, vi : ndarray of shape (c, n_factors) (vi in bits)
  """
  channels = fragments.LazyFingerprints(mean, logvar)
  whole = fragments.LazyFingerprints(mean, logvar, groups=[list(range(mean.shape[1]))])
  total = float(np.asarray(fragments.information(whole)).reshape(-1)[0])
  # The pairwise terms include each channel's information: no separate pass.
  terms = fragments.pairwise_information_terms(channels, factor_fingerprints)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  return np.asarray(terms.info_a, dtype=np.float64), total, nmi, vi


def cache_path(cache_dir: str, model_dir: str) -> str:
  """Where the embedding of the model in `model_dir` is cached (`layout.embedding_cache`)."""
  return layout.embedding_cache(cache_dir, model_key(model_dir))


def load_cached(info: model_info.ModelInfo, cache_dir: str) -> ModelEmbedding | None:
  """The cached embedding of a model, or None (absent, damaged or of an older version)."""
  stored = io.load_npz_or_set_aside(cache_path(cache_dir, info.model_dir), _CACHED_ARRAYS)
  if stored is None or int(stored["version"]) != CACHE_VERSION:
    return None
  return ModelEmbedding(info, stored["mean"], stored["logvar"], stored["channel_information"],
                        float(stored["total_information"]), stored["factor_nmi"],
                        stored["factor_vi"])


def embed_model(info: model_info.ModelInfo, sample: sample_lib.FingerprintSample, *,
                cache_dir: str, loader: models_lib.ModelLoader, factor_fingerprints: np.ndarray,
                timings: dict[str, float] | None = None) -> tuple[ModelEmbedding, bool]:
  """(embedding, was_cached) of one model on the sample; computed and cached when absent.

  `timings` accumulates seconds spent in "embedding" (loading + encoder) and
  "fingerprints" (channel information and factor NMI / VI).
  """
  timings = timings if timings is not None else {}
  cached = load_cached(info, cache_dir)
  if cached is not None:
    return cached, True
  start = time.time()
  model = loader.load(info.model_dir)
  model.check_observation_shape(sample.observations.shape[1:])
  mean, logvar = model.encode(sample.observations)
  mean, logvar = mean.astype(np.float64), logvar.astype(np.float64)
  check_posteriors(mean, logvar, model=info.name)
  timings["embedding"] = timings.get("embedding", 0.0) + time.time() - start
  start = time.time()
  information, total, nmi, vi = channel_statistics(mean, logvar, factor_fingerprints)
  check_information(information, mean.shape[0], model=info.name)
  timings["fingerprints"] = timings.get("fingerprints", 0.0) + time.time() - start
  with io.atomic_path(cache_path(cache_dir, info.model_dir)) as tmp:
    np.savez(tmp, version=CACHE_VERSION, mean=mean, logvar=logvar, channel_information=information,
             total_information=total, factor_nmi=nmi, factor_vi=vi)
  return ModelEmbedding(info, mean, logvar, information, total, nmi, vi), False


@dataclasses.dataclass
class EmbeddingStage:
  """What `embed_models` produced: the embeddings, failures, and counts/timings."""
  embeddings: list[ModelEmbedding]
  failures: list[models_lib.ModelFailure]
  reused: int
  seconds: dict[str, float]


# What one model can raise without the others being affected (OSError: an unreadable or
# vanished file in its folder).
_MODEL_ERRORS = (model_info.ModelDirError, ValueError, OSError)


def embed_models(infos: Sequence[model_info.ModelInfo], sample: sample_lib.FingerprintSample, *,
                 cache_dir: str, loader: models_lib.ModelLoader, client: Any = None,
                 progress: bool = True) -> EmbeddingStage:
  """Embeds every model on the sample; a model that fails is recorded and skipped.

  With a Dask `client`, each model not yet cached is one task on a worker
  (`embed_from_files`); the results are then read from the shared cache.
  """
  from tqdm import tqdm
  seconds = {"embedding": 0.0, "fingerprints": 0.0}
  embeddings, failures, reused = [], [], 0
  start = time.time()
  if client is not None:
    infos, failures = _embed_on_workers(infos, sample, cache_dir, client)
  factor_fps = None if client is not None else fragments.factor_fingerprints(sample.factors)
  for info in tqdm(infos, desc=f"embedding ({sample.dataset})", unit="model",
                   disable=not progress, file=sys.stderr):
    try:
      embedding, was_cached = embed_model(info, sample, cache_dir=cache_dir, loader=loader,
                                          factor_fingerprints=factor_fps, timings=seconds)
    except (saved_model.ModelLoadError,) + _MODEL_ERRORS as error:
      if models_lib.is_environment_error(error):  # a full disk stops the run, not one model
        raise
      failures.append(models_lib.ModelFailure(info.model_dir, models_lib.first_line(error)))
      continue
    reused += int(was_cached)
    embeddings.append(embedding)
  seconds["embedding"] = time.time() - start - seconds["fingerprints"]
  return EmbeddingStage(embeddings, failures, reused, seconds)


def _embed_on_workers(infos: Sequence[model_info.ModelInfo], sample: sample_lib.FingerprintSample,
                      cache_dir: str, client: Any
                      ) -> tuple[list[model_info.ModelInfo], list[models_lib.ModelFailure]]:
  """Runs `embed_from_files` for the uncached models on Dask; (succeeded, failures)."""
  pending, failed = [], {}
  for info in infos:
    try:
      if not os.path.exists(cache_path(cache_dir, info.model_dir)):
        pending.append(info)
    except OSError as error:  # its weights cannot be read for the cache key
      failed[info.model_dir] = models_lib.ModelFailure(info.model_dir, str(error))
  calls = [(info, sample.path, cache_dir) for info in pending]
  with tasks.run_tasks(embed_from_files, calls, client=client, ordered=True) as finished:
    for index, future in finished:
      info = pending[index]
      try:
        future.result()
      except (saved_model.ModelLoadError,) + _MODEL_ERRORS as error:
        if models_lib.is_environment_error(error):
          raise
        failed[info.model_dir] = models_lib.ModelFailure(info.model_dir,
                                                         models_lib.first_line(error))
  return ([info for info in infos if info.model_dir not in failed], list(failed.values()))


def channel_ids(embeddings: Sequence[ModelEmbedding]) -> list[str]:
  """``"<model name>:<channel>"`` of every channel, models in order."""
  return [f"{e.info.name}:{c}" for e in embeddings for c in range(e.num_channels)]


def concatenated(embeddings: Sequence[ModelEmbedding], *, points: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
  """(mean, logvar) of all channels side by side, each of shape (points, total channels)."""
  mean = np.concatenate([e.mean[:points] for e in embeddings], axis=1)
  logvar = np.concatenate([e.logvar[:points] for e in embeddings], axis=1)
  return mean, logvar


def embed_from_files(info: model_info.ModelInfo, sample_path: str, cache_dir: str) -> bool:
  """Embeds one model on the sample saved at `sample_path` into the cache (a worker task).

  Reads everything from files a Dask worker can see, loads the model itself, and
  returns whether the embedding was already cached.
  """
  stored = np.load(sample_path)
  sample = sample_lib.FingerprintSample(str(stored["dataset"]), stored["observations"],
                                        stored["factors"].astype(np.int64),
                                        [str(n) for n in stored["factor_names"]], sample_path)
  if load_cached(info, cache_dir) is not None:
    return True
  embed_model(info, sample, cache_dir=cache_dir, loader=models_lib.ModelLoader(),
              factor_fingerprints=fragments.factor_fingerprints(sample.factors))
  return False
