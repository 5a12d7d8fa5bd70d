"""Ensemble / zoo evaluation: standard metrics and the paper's channel analysis side by side.

Stages (each cached under the output folder, so a re-run after Ctrl-C redoes only what is
missing):
  1. read every model's training config; group the models by dataset (never mixed);
  2. per dataset, one shared fingerprint sample (observations + factor labels, fixed seed),
     saved as OUT/fingerprints/<dataset>_n<N>_seed<S>.npz;
  3. per model, embed the sample (posterior means and log-variances) and compute each
     channel's information and NMI/VI with every factor: OUT/cache/<sample>/<model key>.npz;
  4. standard metrics per model (dlib-layout JSONs in each model's metrics/ folder);
  5. pairwise NMI/VI over all channels of the ensemble, OPTICS hotspots (optionally per
     hyperparameter value), figures, latent traversals, optional fusion;
  6. tables (models.csv/.md, hotspots.csv/.md) and results.json.
"""

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
import zipfile

import numpy as np

from infofrag.evaluation import groups as groups_lib
from infofrag.evaluation import metric_runs
from infofrag.reports import tables
from infofrag.utils import io
from infofrag.zoo import model_info

CACHE_VERSION = 1
# Channels at or below this information (bits) are inactive (the paper's cut).
INFO_THRESHOLD_BITS = 0.01
# The distance whose hotspots label channels in the models table, get traversals and
# fusion, and are summarised in groups.csv: -ln NMI is scale-free, whereas VI (bits)
# also groups unrelated channels that carry little information.
HOTSPOT_DISTANCE = "nmi"


@dataclasses.dataclass
class FingerprintSample:
  """The shared points every model of one dataset is embedded on."""
  dataset: str
  observations: np.ndarray  # [N, *observation_shape] float32
  factors: np.ndarray  # [N, F] int64
  factor_names: list
  path: str

  @property
  def key(self):
    return os.path.splitext(os.path.basename(self.path))[0]


@dataclasses.dataclass
class ModelEmbedding:
  """One model's channel analysis on a fingerprint sample (all arrays numpy)."""
  info: model_info.ModelInfo
  mean: np.ndarray  # [N, C]
  logvar: np.ndarray  # [N, C]
  channel_information: np.ndarray  # [C] bits
  total_information: float  # bits, all channels together
  factor_nmi: np.ndarray  # [C, F]
  factor_vi: np.ndarray  # [C, F] bits


def _stderr(message):
  print(message, file=sys.stderr, flush=True)


def dataset_override(gin_bindings):
  """The dataset named by a `dataset.name = '...'` binding, or None."""
  for binding in gin_bindings:
    match = re.match(r"\s*dataset\.name\s*=\s*['\"]([\w]+)['\"]\s*$", binding)
    if match and match.group(1) != "auto":
      return match.group(1)
  return None


def fingerprint_sample(dataset_name, size, seed, output_dir):
  """Loads or draws (and saves) the fingerprint sample of a dataset."""
  from infofrag.data import named_data  # pylint: disable=g-import-not-at-top
  if size < 2:
    raise ValueError(f"--fingerprint_size must be at least 2, got {size}.")
  path = os.path.join(output_dir, "fingerprints", f"{dataset_name}_n{size}_seed{seed}.npz")
  data = named_data.get_named_ground_truth_data(dataset_name)
  check_sample_fits(dataset_name, data, size)
  names = list(getattr(data, "factor_names", [f"factor{i}" for i in range(data.num_factors)]))
  stored = _load_npz_or_set_aside(path, ("observations", "factors"))
  if stored is not None:
    observations, factors = stored["observations"], stored["factors"]
  else:
    factors, observations = data.sample(size, np.random.RandomState(seed))
    observations = np.asarray(observations, dtype=np.float32)
    with io.atomic_path(path) as tmp:
      np.savez(tmp, observations=observations, factors=factors,
               factor_names=np.array(names), dataset=np.array(dataset_name))
  return FingerprintSample(dataset_name, observations, np.asarray(factors, np.int64), names, path)


def available_memory_bytes():
  """Memory the process can still take (Linux MemAvailable; physical memory elsewhere)."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_sample_fits(dataset_name, data, size):
  """Rejects a fingerprint sample larger than the dataset or than memory, before any work.

  The sample holds N observations, and the factors' fingerprints are F [N, N] float64
  matrices; both must fit in the available memory.
  """
  states = int(np.prod(data.factors_num_values))
  if size > states:
    raise ValueError(f"--fingerprint_size {size:,} exceeds the {states:,} distinct factor "
                     f"settings of {dataset_name}; use at most {states:,}.")
  needed = size * int(np.prod(data.observation_shape)) * 4 + data.num_factors * size**2 * 8
  available = available_memory_bytes()
  if needed > available:
    largest = int(np.sqrt(available / (8 * max(1, data.num_factors))))
    raise ValueError(f"--fingerprint_size {size:,} needs about {needed / 2**30:.1f} GiB for "
                     f"{dataset_name} but {available / 2**30:.1f} GiB is available; use at most "
                     f"about {largest:,} points.")


def model_key(model_dir):
  """Key of a model's cached analysis: folder name + digest of its resolved path and the
  contents of its saved model (so replaced weights are never served from the cache)."""
  from infofrag.utils import result_keys  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha1(os.path.realpath(model_dir).encode())
  digest.update(result_keys.weights_digest(model_dir).encode())
  return f"{os.path.basename(os.path.normpath(model_dir))}-{digest.hexdigest()[:12]}"


def _load_npz_or_set_aside(path, names):
  """{name: array} of a cached .npz; None if absent. A damaged file (truncated, missing
  arrays) is renamed to `<path>.corrupt` with a warning, so the stage is recomputed."""
  if not os.path.exists(path):
    return None
  try:
    with np.load(path) as stored:
      return {name: stored[name] for name in names}
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
    os.replace(path, path + ".corrupt")
    _stderr(f"warning: cache {path} is damaged ({error}); set aside as {path}.corrupt and "
            "recomputed.")
    return None


def channel_statistics(mean, logvar, factor_fingerprints):
  """Per-channel information, total information, and NMI/VI with every factor."""
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  channels = fragments.LazyFingerprints(mean, logvar)
  whole = fragments.LazyFingerprints(mean, logvar, groups=[list(range(mean.shape[1]))])
  total = float(np.asarray(fragments.information(whole)).reshape(-1)[0])
  # The pairwise terms include each channel's information: no separate pass.
  terms = fragments.pairwise_information_terms(channels, factor_fingerprints)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  return np.asarray(terms.info_a, dtype=np.float64), total, nmi, vi


def embed_model(info, sample, cache_dir, model=None, factor_fps=None, timings=None):
  """(ModelEmbedding, was_cached) of one model on the sample, from cache when present.

  `timings` (dict) accumulates seconds spent in "embedding" (encoder) and
  "fingerprints" (channel information and factor NMI/VI).
  """
  timings = timings if timings is not None else {}
  path = os.path.join(cache_dir, f"{model_key(info.model_dir)}.npz")
  stored = _load_npz_or_set_aside(path, ("version", "mean", "logvar", "channel_information",
                                         "total_information", "factor_nmi", "factor_vi"))
  if stored is not None and int(stored["version"]) == CACHE_VERSION:
    return ModelEmbedding(info, stored["mean"], stored["logvar"], stored["channel_information"],
                          float(stored["total_information"]), stored["factor_nmi"],
                          stored["factor_vi"]), True
  from infofrag.zoo import saved_model  # pylint: disable=g-import-not-at-top
  start = time.time()
  model = model or saved_model.load_model(info.model_dir)
  model.check_observation_shape(sample.observations.shape[1:])
  mean, logvar = model.encode(sample.observations)
  mean, logvar = mean.astype(np.float64), logvar.astype(np.float64)
  timings["embedding"] = timings.get("embedding", 0.0) + time.time() - start
  start = time.time()
  information, total, nmi, vi = channel_statistics(mean, logvar, factor_fps)
  timings["fingerprints"] = timings.get("fingerprints", 0.0) + time.time() - start
  with io.atomic_path(path) as tmp:
    np.savez(tmp, version=CACHE_VERSION, mean=mean, logvar=logvar, channel_information=information,
             total_information=total, factor_nmi=nmi, factor_vi=vi)
  return ModelEmbedding(info, mean, logvar, information, total, nmi, vi), False


# Pair accumulators (five float64 [K+1, K+1] arrays per thread) above this size
# switch the zoo's pairwise stage from one symmetric call to blocks of channels.
PAIRWISE_ACCUMULATOR_BYTES = 2 * 2**30


def _pairwise_block_channels(count, num_threads, max_accumulator_bytes):
  """Channels per block so that [block + 1, count + 1] accumulators fit (count: one symmetric call)."""
  per_pair = 5 * 8 * num_threads
  if per_pair * (count + 1)**2 <= max_accumulator_bytes:
    return count
  return int(max(1, max_accumulator_bytes // (per_pair * (count + 1)) - 1))


def ensemble_pairwise(embeddings, cache_dir, progress=True,
                      max_accumulator_bytes=PAIRWISE_ACCUMULATOR_BYTES):
  """NMI [K, K], VI [K, K] (bits) and information [K] over all channels of all models.

  Up to ~3,600 channels (2 threads, 2 GiB of accumulators) this is one symmetric
  call: each fingerprint row is computed once and each row costs one symmetric
  BLAS product. Larger ensembles are done in blocks of channels against all
  later channels (the upper triangle, mirrored), so memory stays bounded at
  the price of recomputing column fingerprints. The progress bar counts
  fingerprint rows. Cached under cache_dir keyed by the ordered model keys.
  """
  import threading  # pylint: disable=g-import-not-at-top
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  from infofrag.fragments import _parallel  # pylint: disable=g-import-not-at-top
  keys = [model_key(e.info.model_dir) for e in embeddings]
  digest = hashlib.sha1("|".join(keys).encode()).hexdigest()[:16]
  path = os.path.join(cache_dir, f"pairwise-{digest}.npz")
  stored = _load_npz_or_set_aside(path, ("nmi", "vi", "information"))
  if stored is not None:
    return stored["nmi"], stored["vi"], stored["information"], True
  mean = np.concatenate([e.mean for e in embeddings], axis=1)
  logvar = np.concatenate([e.logvar for e in embeddings], axis=1)
  count, num_points = mean.shape[1], mean.shape[0]
  block = _pairwise_block_channels(count, _parallel.resolve_num_threads(None), max_accumulator_bytes)
  starts = range(0, count, block)
  lock = threading.Lock()
  with tqdm(total=num_points * len(starts), desc="pairwise NMI/VI", unit="row", disable=not progress,
            file=sys.stderr) as bar:
    def advance(rows):
      with lock:  # called from the worker threads
        bar.update(rows)
    if block == count:
      terms = fragments.pairwise_information_terms(fragments.LazyFingerprints(mean, logvar),
                                                   progress=advance)
      nmi, vi = fragments.nmi_vi_from_terms(terms)
      information = np.asarray(terms.info_a, dtype=np.float64)
    else:
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
  with io.atomic_path(path) as tmp:
    np.savez(tmp, nmi=nmi, vi=vi, information=information)
  return nmi, vi, information, False


def _channel_ids(embeddings):
  return [f"{e.info.name}:{c}" for e in embeddings for c in range(e.mean.shape[1])]


def _hyperparameter_label(info):
  if info.hyperparameter is None:
    return info.method_label
  value = info.hyperparameter_value
  text = f"{value:g}" if isinstance(value, float) else str(value)
  return f"{info.method_label} {info.hyperparameter.split('.')[-1]}={text}"


def group_members(embeddings, per_hyperparameter):
  """{group name: channel indices}: "all", and per hyperparameter value when asked.

  A value with a single model gets no group of its own: a hotspot is information found
  again in other models, so it needs at least two.
  """
  groups = {"all": np.arange(sum(e.mean.shape[1] for e in embeddings))}
  if per_hyperparameter:
    owner = np.concatenate([[i] * e.mean.shape[1] for i, e in enumerate(embeddings)])
    labels = [_hyperparameter_label(e.info) for e in embeddings]
    for label in sorted(set(labels), key=lambda l: _label_sort_key(l, embeddings, labels)):
      models = [i for i, l in enumerate(labels) if l == label]
      if len(models) >= 2:
        groups[label] = np.nonzero(np.isin(owner, models))[0]
  return groups


def _label_sort_key(label, embeddings, labels):
  """Groups of one method in increasing hyperparameter value (numeric, not text, order)."""
  info = embeddings[labels.index(label)].info
  value = info.hyperparameter_value
  numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
  return (info.method_label, 0 if numeric else 1, value if numeric else 0, str(value))


def find_structures(embeddings, nmi, vi, information, min_samples, per_hyperparameter):
  """{distance: {group name: EnsembleStructure}} for both of the paper's distances.

  The paper clusters separately on VI (for its exp(-VI) figures) and on -ln NMI (for
  its NMI figures); so do we. Groups: the whole ensemble ("all") and, optionally,
  each hyperparameter value.
  """
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  ids = _channel_ids(embeddings)
  structures = {distance: {} for distance in fragments.DISTANCES}
  for group, members in group_members(embeddings, per_hyperparameter).items():
    for distance in fragments.DISTANCES:
      structures[distance][group] = fragments.structure_from_matrices(
          nmi[np.ix_(members, members)], vi[np.ix_(members, members)], information[members],
          [ids[i] for i in members], distance=distance, min_samples=min_samples)
  return structures


def _aligned_factor_nmi(embeddings, structure):
  """[K_group, F] factor NMI of a structure's channels, in its channel_ids order."""
  factor_nmi = np.concatenate([e.factor_nmi for e in embeddings], axis=0)  # [K, F]
  index_of = {cid: i for i, cid in enumerate(_channel_ids(embeddings))}
  return factor_nmi[[index_of[c] for c in structure.channel_ids]]


def hotspot_rows(dataset, structures, embeddings, factor_names):
  """One row per hotspot (of each distance and group): size, models covered, mean NMI,
  information, best factor."""
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  rows = []
  for distance, by_group in structures.items():
    for group, structure in by_group.items():
      aligned = _aligned_factor_nmi(embeddings, structure)
      for hotspot, mean_factor_nmi in zip(structure.hotspots,
                                          fragments.hotspot_factor_nmi(structure, aligned)):
        best = int(np.argmax(mean_factor_nmi))
        rows.append({
            "dataset": dataset, "group": group, "distance": distance, "hotspot": hotspot.label,
            "size": hotspot.size,
            "models_covered": len(set(groups_lib.model_groups(hotspot.members))),
            "mean_nmi": hotspot.mean_nmi, "information_bits": hotspot.information_bits,
            "best_factor": factor_names[best], "best_factor_nmi": float(mean_factor_nmi[best]),
            "members": " ".join(hotspot.members),
            # results.json only (not a CSV column): the members' mean NMI with every factor.
            "factor_nmi": {name: float(v) for name, v in zip(factor_names, mean_factor_nmi)}})
  return rows


def group_rows(dataset, structures, embeddings, rows, factor_names):
  """The per-group summary (groups.csv) from the hotspots of `HOTSPOT_DISTANCE`."""
  by_group = structures[HOTSPOT_DISTANCE]
  names = {e.info.name: _hyperparameter_label(e.info) for e in embeddings}
  models_of = {}
  for row in rows:
    models_of.setdefault(names[row["model"]], []).append(row)
  return groups_lib.group_rows(
      dataset, by_group, {g: _aligned_factor_nmi(embeddings, s) for g, s in by_group.items()},
      factor_names, models_of)


def model_rows(embeddings, metric_rows, structure, factor_names, metrics, failures_by_dir):
  """One row per model: info, metrics, channel information, best factor, hotspots."""
  metrics_by_dir = {row["model_dir"]: row for row in metric_rows}
  labels = structure.hotspot_labels() if structure is not None else None
  rows, offset = [], 0
  for e in embeddings:
    num = e.mean.shape[1]
    row = {"model": e.info.name, "dataset": e.info.dataset, "method": e.info.method_label,
           "hyperparameter": e.info.hyperparameter, "value": e.info.hyperparameter_value,
           "seed": e.info.seed}
    metric_row = metrics_by_dir.get(e.info.model_dir, {})
    for _, _, column in metric_runs.metric_columns(metrics):
      row[column] = metric_row.get(column)
    row["metrics_by"] = metric_row.get("metrics_by")
    if e.info.model_dir in failures_by_dir:
      row["metrics_error"] = failures_by_dir[e.info.model_dir]
    best = np.argmax(e.factor_nmi, axis=1)
    row.update({
        "info_total_bits": e.total_information,
        "active_channels": int(np.sum(e.channel_information > INFO_THRESHOLD_BITS)),
        "info_bits_per_channel": [round(float(v), 3) for v in e.channel_information],
        # NMI of a channel without information is 0/0 noise: such channels show "-".
        "best_factor_per_channel": [
            f"{factor_names[b]}:{e.factor_nmi[c, b]:.2f}"
            if e.channel_information[c] > INFO_THRESHOLD_BITS else "-"
            for c, b in enumerate(best)],
        "hotspot_per_channel": ([int(v) for v in labels[offset:offset + num]]
                                if labels is not None else None)})
    rows.append(row)
    offset += num
  return rows


def traversal_strip(model, embedding, channel, path, steps=10):
  """Decodes a sweep of one channel (others at the sample's mean code) to a PNG strip."""
  from infofrag.reports import dataset_figures  # pylint: disable=g-import-not-at-top
  base = embedding.mean.mean(axis=0)
  low, high = np.percentile(embedding.mean[:, channel], [2, 98])
  if high - low < 1e-6:
    low, high = low - 2.0, high + 2.0
  latents = np.repeat(base[None, :], steps, axis=0).astype(np.float32)
  latents[:, channel] = np.linspace(low, high, steps)
  images = model.decode_images(latents)  # in [0, 1] for any recorded decoder output
  return dataset_figures.save_image(path, dataset_figures.image_grid(images, steps))


def _representative(hotspot, information, index_of):
  """The member with the most information (ties: first in OPTICS order)."""
  members = [index_of[m] for m in hotspot.members]
  return hotspot.members[int(np.argmax(information[members]))]


def _clean_for_json(value):
  if isinstance(value, dict):
    return {str(k): _clean_for_json(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_clean_for_json(v) for v in value]
  if isinstance(value, np.ndarray):
    return _clean_for_json(value.tolist())
  if isinstance(value, (np.floating, float)):
    return float(value) if np.isfinite(value) else None
  if isinstance(value, np.integer):
    return int(value)
  return value


MODEL_COLUMNS_HEAD = ["model", "dataset", "method", "hyperparameter", "value", "seed"]
MODEL_COLUMNS_TAIL = ["metrics_by", "info_total_bits", "active_channels", "info_bits_per_channel",
                      "best_factor_per_channel", "hotspot_per_channel"]
HOTSPOT_COLUMNS = ["dataset", "group", "distance", "hotspot", "size", "models_covered",
                   "mean_nmi", "information_bits", "best_factor", "best_factor_nmi", "members"]


def analyse_dataset(dataset, infos, args, metrics, output_dir, failures, progress=True):
  """Runs stages 2-5 for the models of one dataset; returns (model rows, hotspot rows, extra)."""
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  from infofrag.zoo import saved_model  # pylint: disable=g-import-not-at-top

  sample = fingerprint_sample(dataset, args.fingerprint_size, args.fingerprint_seed, output_dir)
  cache_dir = os.path.join(output_dir, "cache", sample.key)
  factor_fps = fragments.factor_fingerprints(sample.factors)
  embeddings, loaded = [], {}
  stage_seconds = {"embedding": 0.0, "fingerprints": 0.0}
  start = time.time()
  reused = 0
  for info in tqdm(infos, desc=f"embedding ({dataset})", unit="model", disable=not progress,
                   file=sys.stderr):
    try:
      model = None
      cached = os.path.join(cache_dir, f"{model_key(info.model_dir)}.npz")
      if not os.path.exists(cached) or not zipfile.is_zipfile(cached):
        model = saved_model.load_model(info.model_dir)
        loaded[info.model_dir] = model
      embedding, was_cached = embed_model(info, sample, cache_dir, model, factor_fps,
                                          stage_seconds)
      reused += int(was_cached)
      embeddings.append(embedding)
    except (saved_model.ModelLoadError, model_info.ModelDirError, ValueError) as error:
      failures.append(metric_runs.ModelFailure(info.model_dir, str(error)))
  # Model loading counts as embedding work.
  stage_seconds["embedding"] = time.time() - start - stage_seconds["fingerprints"]

  start = time.time()
  metric_rows, metric_failures = metric_runs.evaluate_standard_metrics(
      [e.info.model_dir for e in embeddings], metrics, args.representation, args.gin_config,
      args.gin_bindings, args.overwrite, output_dir, progress=progress, loaded_models=loaded,
      no_recompute=args.no_recompute)
  stage_seconds["metrics"] = time.time() - start
  metric_failures_by_dir = {f.model_dir: f.reason for f in metric_failures}
  for failure in metric_failures:
    failures.append(metric_runs.ModelFailure(failure.model_dir, "metrics: " + failure.reason))

  extra = {"fingerprint_sample": sample.path, "factor_names": sample.factor_names,
           "cached_embeddings": reused,
           "embedded_models": len(embeddings) - reused, "stage_seconds": stage_seconds}
  if not embeddings:
    return [], [], extra
  start = time.time()
  nmi, vi, information, pairwise_cached = ensemble_pairwise(embeddings, cache_dir, progress)
  stage_seconds["pairwise"] = time.time() - start
  start = time.time()
  structures = find_structures(embeddings, nmi, vi, information, args.min_samples,
                               args.per_hyperparameter)
  stage_seconds["optics"] = time.time() - start
  extra["pairwise_cached"] = pairwise_cached

  start = time.time()
  figures = write_figures(dataset, structures, embeddings, sample, loaded, output_dir)
  stage_seconds["figures"] = time.time() - start
  extra["figures"] = figures
  extra["structures"] = {distance: {group: s.to_dict() for group, s in by_group.items()}
                         for distance, by_group in structures.items()}
  primary = structures[HOTSPOT_DISTANCE]["all"]
  if args.fusion:
    start = time.time()
    extra["fusion"] = run_fusion(embeddings, primary, sample, args)
    stage_seconds["fusion"] = time.time() - start
  rows = model_rows(embeddings, metric_rows, primary, sample.factor_names, metrics,
                    metric_failures_by_dir)
  if args.spaces or args.model_similarity:
    start = time.time()
    extra.update(analyse_spaces(dataset, embeddings, sample, extra.get("fusion", {}), args,
                                output_dir, progress))
    stage_seconds["spaces"] = time.time() - start
  extra["groups"] = (group_rows(dataset, structures, embeddings, rows, sample.factor_names)
                     if args.per_hyperparameter else [])
  return rows, hotspot_rows(dataset, structures, embeddings, sample.factor_names), extra


def analyse_spaces(dataset, embeddings, sample, fusion_reports, args, output_dir, progress):
  """Whole-space rows and model-pair similarity (see `whole_spaces`); JSON-able dict."""
  from infofrag.evaluation import whole_spaces  # pylint: disable=g-import-not-at-top
  names = [e.info.name for e in embeddings]
  group_of = [_hyperparameter_label(e.info) for e in embeddings]
  points = args.spaces_points or sample.factors.shape[0]
  if points <= sample.factors.shape[0]:
    space_sample = sample
    posteriors = [(e.mean[:points], e.logvar[:points]) for e in embeddings]
  else:  # More points than the fingerprint sample: a sample of its own, embedded once.
    space_sample = fingerprint_sample(dataset, points, args.fingerprint_seed, output_dir)
    posteriors = whole_spaces.embed_means(
        [e.info.model_dir for e in embeddings], [model_key(e.info.model_dir) for e in embeddings],
        space_sample.observations, os.path.join(output_dir, "cache", space_sample.key), progress)
  factors = space_sample.factors[:points]
  result = {"spaces_points": points, "spaces_sample": space_sample.path}
  if args.spaces:
    spaces = whole_spaces.build_spaces(names, [e.info.method_label for e in embeddings], group_of,
                                       posteriors)
    spaces += whole_spaces.fused_spaces(fusion_reports)
    result["spaces"] = whole_spaces.space_rows(dataset, spaces, factors, sample.factor_names,
                                               num_samples=args.mc_samples, seed=args.mc_seed,
                                               progress=progress)
  if args.model_similarity:
    similarity = whole_spaces.similarity_by_group(names, group_of, posteriors,
                                                  num_samples=args.mc_samples, seed=args.mc_seed)
    result["model_similarity"] = whole_spaces.similarity_rows(dataset, similarity)
    if similarity:
      result["model_similarity_figure"] = whole_spaces.plot_similarity(
          similarity, os.path.join(output_dir, "figures", dataset, "model_similarity_nmi.png"))
  return result


def write_figures(dataset, structures, embeddings, sample, loaded, output_dir):
  """Structure figures (NMI and VI versions) per group and one traversal per hotspot."""
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  from infofrag.zoo import saved_model  # pylint: disable=g-import-not-at-top
  figure_dir = os.path.join(output_dir, "figures", dataset)
  written = []
  # Each figure is ordered and shaded by the OPTICS run on its own distance.
  for similarity, by_group in structures.items():
    for group, structure in by_group.items():
      slug = re.sub(r"[^\w.=-]+", "_", group)
      path = os.path.join(figure_dir, f"structure_{slug}_{similarity}.png")
      try:
        fragments.plot_structure(structure, path, display=similarity,
                                 factor_nmi=_aligned_factor_nmi(embeddings, structure),
                                 factor_names=sample.factor_names,
                                 title=f"{dataset}: {group} ({len(structure.kept)} informative "
                                       f"of {len(structure.channel_ids)} channels)")
      except ValueError as error:  # e.g. no channel above the information threshold
        _stderr(f"figure {path} skipped: {error}")
        continue
      written.append(path)
  # Traversals: only image data can be decoded into pictures.
  if len(sample.observations.shape) == 4:
    structure = structures[HOTSPOT_DISTANCE]["all"]
    index_of = {cid: i for i, cid in enumerate(_channel_ids(embeddings))}
    by_name = {e.info.name: e for e in embeddings}
    for hotspot in structure.hotspots:
      member = _representative(hotspot, structure.information_bits, index_of)
      name, channel = member.rsplit(":", 1)
      embedding = by_name[name]
      try:
        model = loaded.get(embedding.info.model_dir) or saved_model.load_model(embedding.info.model_dir)
        loaded[embedding.info.model_dir] = model
        path = os.path.join(figure_dir, f"hotspot_{hotspot.label}_traversal_{name}_ch{channel}.png")
        written.append(traversal_strip(model, embedding, int(channel), path))
      except saved_model.ModelLoadError as error:
        _stderr(f"traversal for hotspot {hotspot.label} skipped: {error}")
  return written


def run_fusion(embeddings, structure, sample, args):
  """Fuses the whole ensemble and each hotspot's channels (the paper's fusion); returns JSON-able reports.

  Fusion optimises N x dim free posteriors against M fingerprints for many steps, so it
  runs on the first `args.fusion_points` fingerprint points (the paper used N = 200).
  """
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
  from infofrag import fusion  # pylint: disable=g-import-not-at-top
  points = min(args.fusion_points, sample.factors.shape[0])
  factors = sample.factors[:points]
  options = dict(dim=args.fusion_dim, steps=args.fusion_steps, factor_names=sample.factor_names)
  reports = {}
  whole = np.stack([fragments.channel_fingerprints(
      e.mean[:points], e.logvar[:points], groups=[list(range(e.mean.shape[1]))])[0]
                    for e in embeddings])
  _stderr(f"fusion: {len(embeddings)} models on {points} points, {args.fusion_steps} steps")
  reports["all_models"] = fusion.fuse_ensemble(
      whole, factors, member_names=[e.info.name for e in embeddings], **options)
  mean = np.concatenate([e.mean for e in embeddings], axis=1)[:points]
  logvar = np.concatenate([e.logvar for e in embeddings], axis=1)[:points]
  index_of = {cid: i for i, cid in enumerate(_channel_ids(embeddings))}
  for hotspot in structure.hotspots:
    columns = [index_of[m] for m in hotspot.members]
    fingerprints = fragments.channel_fingerprints(mean, logvar, groups=[[c] for c in columns])
    _stderr(f"fusion: hotspot {hotspot.label} ({len(columns)} channels)")
    reports[f"hotspot_{hotspot.label}"] = fusion.fuse_ensemble(
        fingerprints, factors, member_names=list(hotspot.members), **options)
  return reports


def fusion_rows(dataset, reports):
  """One row per fusion: fused vs members' information, best factor of the fused space."""
  rows = []
  for target, report in reports.items():
    row = {"dataset": dataset, "fused": target, "members": report["num_members"],
           "points": report["num_points"], "dim": report["dim"],
           "fused_info_bits": report["fused_information_bits"],
           "members_mean_info_bits": report["members_information_bits"]["mean"],
           "members_max_info_bits": report["members_information_bits"]["max"],
           "gain_over_best_bits": report["gain_over_best_member_bits"],
           "mean_nmi_with_members": report["nmi_with_members"]["mean"]}
    factors = report.get("factors") or {}
    if factors:
      best = max(factors, key=lambda name: factors[name]["fused_nmi"])
      row.update({"fused_best_factor": best, "fused_best_factor_nmi": factors[best]["fused_nmi"],
                  "members_best_nmi_for_it": factors[best]["best_member_nmi"]})
    rows.append(row)
  return rows


SPACE_SUMMARY_COLUMNS = [("space", "space"), ("kind", "kind"), ("method", "method"),
                         ("dims", "dims"),
                         ("points", "points"), ("info_bits", "I(U;X) bits"), ("info_err", "±"),
                         ("info_fraction", "I/H(X)"),
                         ("bhattacharyya_info_bits", "I bound (Bhatt.)"),
                         ("factors_nmi", "NMI factors"), ("factors_nmi_err", "±"),
                         ("factors_vi_bits", "VI factors (bits)"), ("factors_vi_err", "±"),
                         ("bhattacharyya_factors_nmi", "NMI factors (Bhatt.)"),
                         ("mig", "MIG"), ("sap", "SAP")]

FUSION_COLUMNS = ["dataset", "fused", "members", "points", "dim", "fused_info_bits",
                  "members_mean_info_bits", "members_max_info_bits", "gain_over_best_bits",
                  "mean_nmi_with_members", "fused_best_factor", "fused_best_factor_nmi",
                  "members_best_nmi_for_it"]


def run_from_args(args, model_dirs, metrics, progress=True):
  """The ensemble evaluation behind `infofrag_evaluate --output_dir` / `--zoo`."""
  output_dir = args.output_dir
  os.makedirs(output_dir, exist_ok=True)
  failures, groups = [], {}
  override = dataset_override(args.gin_bindings)
  for model_dir in model_dirs:
    try:
      info = model_info.read_model_info(model_dir)
      if not os.path.isdir(model_info.tfhub_path(model_dir)):
        raise model_info.ModelDirError(
            f"{model_dir}: no saved model at {model_info.tfhub_path(model_dir)}.")
    except model_info.ModelDirError as error:
      failures.append(metric_runs.ModelFailure(model_dir, str(error)))
      continue
    dataset = override or info.dataset
    if not dataset:
      failures.append(metric_runs.ModelFailure(model_dir, "its training config names no dataset; "
                                          "pass --gin_bindings=\"dataset.name='...'\""))
      continue
    info.dataset = dataset
    groups.setdefault(dataset, []).append(info)

  from infofrag.data import named_data  # pylint: disable=g-import-not-at-top
  try:  # Every dataset's sample must fit before any model is touched.
    for dataset in sorted(groups):
      check_sample_fits(dataset, named_data.get_named_ground_truth_data(dataset),
                        args.fingerprint_size)
  except (ValueError, FileNotFoundError) as error:
    _stderr(f"infofrag_evaluate: error: {str(error).splitlines()[0]}")
    return 2
  all_models, all_hotspots, all_groups, all_fusions, per_dataset = [], [], [], [], {}
  all_spaces, all_similarity, factor_names = [], [], []
  for dataset, infos in sorted(groups.items()):
    try:
      rows, hotspots, extra = analyse_dataset(dataset, infos, args, metrics, output_dir, failures,
                                              progress)
    except (ValueError, FileNotFoundError) as error:
      for info in infos:
        failures.append(metric_runs.ModelFailure(info.model_dir, f"dataset {dataset}: {error}"))
      continue
    all_models += rows
    all_hotspots += hotspots
    all_groups += extra.pop("groups", [])
    all_spaces += extra.pop("spaces", [])
    all_similarity += extra.pop("model_similarity", [])
    factor_names += [n for n in extra.get("factor_names", []) if n not in factor_names]
    all_fusions += fusion_rows(dataset, extra.get("fusion", {}))
    per_dataset[dataset] = extra

  if not all_models:  # Nothing analysed: keep the tables of an earlier run.
    metric_runs.report_failures(failures)
    _stderr(f"infofrag_evaluate: no model could be analysed; the tables in {output_dir} were "
            "left as they were.")
    return 1
  metric_names = [column for _, _, column in metric_runs.metric_columns(metrics)]
  model_columns = MODEL_COLUMNS_HEAD + metric_names + MODEL_COLUMNS_TAIL
  tables.write_csv(os.path.join(output_dir, "models.csv"), all_models, model_columns)
  tables.write_csv(os.path.join(output_dir, "hotspots.csv"), all_hotspots, HOTSPOT_COLUMNS)
  short_model_columns = (["model", "method", "value", "seed"] + metric_names
                         + ["info_total_bits", "active_channels", "best_factor_per_channel"])
  models_md = tables.markdown_table(all_models, short_model_columns, digits=3)
  hotspot_md = tables.markdown_table(all_hotspots, HOTSPOT_COLUMNS[:-1], digits=3)
  tables.write_markdown(os.path.join(output_dir, "models.md"), models_md)
  tables.write_markdown(os.path.join(output_dir, "hotspots.md"), hotspot_md)
  io.write_json_atomic(os.path.join(output_dir, "results.json"), _clean_for_json({
      "models": all_models, "hotspots": all_hotspots, "groups": all_groups,
      "spaces": all_spaces, "model_similarity": all_similarity,
      "datasets": per_dataset,
      "failures": [dataclasses.asdict(f) for f in failures],
      "settings": {"fingerprint_size": args.fingerprint_size,
                   "fingerprint_seed": args.fingerprint_seed, "metrics": metrics,
                   "representation": args.representation, "min_samples": args.min_samples,
                   "mc_samples": args.mc_samples, "mc_seed": args.mc_seed,
                   "spaces_points": args.spaces_points}}))
  if args.per_hyperparameter:
    groups_md = tables.markdown_table(all_groups, groups_lib.GROUP_COLUMNS, digits=3)
    tables.write_csv(os.path.join(output_dir, "groups.csv"), all_groups, groups_lib.GROUP_COLUMNS)
    tables.write_markdown(os.path.join(output_dir, "groups.md"), groups_md)
  if args.spaces:
    from infofrag.evaluation import spaces as spaces_lib  # pylint: disable=g-import-not-at-top
    space_columns = spaces_lib.SPACE_COLUMNS + spaces_lib.factor_columns(factor_names)
    tables.write_csv(os.path.join(output_dir, "spaces.csv"), all_spaces, space_columns)
    spaces_md = tables.markdown_table(all_spaces, SPACE_SUMMARY_COLUMNS, digits=3)
    tables.write_markdown(os.path.join(output_dir, "spaces.md"), spaces_md)
  if args.model_similarity:
    from infofrag.evaluation import whole_spaces  # pylint: disable=g-import-not-at-top
    similarity_md = tables.markdown_table(all_similarity, whole_spaces.SIMILARITY_COLUMNS, digits=3)
    tables.write_csv(os.path.join(output_dir, "model_similarity.csv"), all_similarity,
                     whole_spaces.SIMILARITY_COLUMNS)
    tables.write_markdown(os.path.join(output_dir, "model_similarity.md"), similarity_md)
  if args.fusion:
    fusion_md = tables.markdown_table(all_fusions, FUSION_COLUMNS, digits=3)
    tables.write_csv(os.path.join(output_dir, "fusion.csv"), all_fusions, FUSION_COLUMNS)
    tables.write_markdown(os.path.join(output_dir, "fusion.md"), fusion_md)
  print("\n## Models\n")
  print(models_md)
  print("\n## Hotspots\n")
  print(hotspot_md if all_hotspots else "(no hotspots found)")
  if args.per_hyperparameter:
    print(f"\n## Groups (hotspots on the {HOTSPOT_DISTANCE.upper()} distance)\n")
    print(groups_md)
  if args.fusion:
    print("\n## Fusion\n")
    print(fusion_md)
  if args.spaces:
    print("\n## Whole spaces (Monte Carlo, ± standard error)\n")
    print(spaces_md)
  if args.model_similarity:
    print("\n## Model-pair similarity (Monte Carlo)\n")
    print(similarity_md)
  for dataset, extra in per_dataset.items():
    for figure in extra.get("figures", []):
      if "structure_all_nmi" in figure:
        print(f"\nfigure: {figure}")
  metric_runs.report_failures(failures)
  from infofrag.reports import html_report  # pylint: disable=g-import-not-at-top
  report = html_report.write_report(output_dir, run_info=html_report.collect_run_info(
      getattr(args, "command_line", None) or ["infofrag_evaluate"] + sys.argv[1:],
      getattr(args, "started_at", None) or time.time()))
  if getattr(args, "tensorboard", False):
    from infofrag.reports import tensorboard_hparams  # pylint: disable=g-import-not-at-top
    print(f"TensorBoard HParams: tensorboard --logdir "
          f"{tensorboard_hparams.write_hparams(output_dir)}")
  print(f"\n{len(all_models)} model(s) analysed, {len(failures)} failed; tables, figures and "
        f"results.json in {output_dir}\nreport (open in a browser): {report}")
  return 1 if failures else 0
