"""Error bars and chance levels of one dataset's tables.

Two stages of the zoo analysis, and the columns they add:

- **resampling** (`resample_groups`): each group's structure (both distances) redone on the
  delete-d jackknife resamples of its models (`resampling`); gives every per-group number
  of groups.csv, metrics_by_hyperparameter.csv and the spaces table's group means an
  interval (``<column>_low``, ``<column>_high``), and every hotspot its ``stability``.
- **chance** (`factor_nulls`, `hotspot_pair_nulls`): permutation nulls of the NMI on the
  same points (`infofrag.fragments.chance`): per channel and factor (the factor tuples
  shuffled; cached per model) and per hotspot (two of its channels, one shuffled). Their
  95th percentiles are the ``*_chance`` columns; values at or below them are marked
  ``†`` in the Markdown tables and shaded in the report.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import resampling
from infofrag.analysis import structure as structure_lib
from infofrag.fragments import chance as chance_lib
from infofrag.utils import io
from infofrag.utils import layout

CHANCE_MARK = chance_lib.CHANCE_MARK
# Channels of a hotspot used for its channel-channel null (pairs are drawn among them).
MAX_NULL_MEMBERS = 12
# The group columns that get intervals, with the range each is clipped to.
GROUP_INTERVALS = {"mean_active_channels": (0.0, math.inf), "hotspots": (0.0, math.inf),
                   "fraction_in_hotspots": (0.0, 1.0), "mean_hotspot_nmi": (0.0, 1.0),
                   "mean_mig": (0.0, 1.0)}
# Columns of the spaces table averaged over a group's model rows, with their ranges.
SPACE_MEANS = {"info_bits": (0.0, math.inf), "info_fraction": (0.0, 1.0),
               "bhattacharyya_info_bits": (0.0, math.inf), "factors_nmi": (0.0, 1.0),
               "factors_vi_bits": (0.0, math.inf), "bhattacharyya_factors_nmi": (0.0, 1.0),
               "mig": (0.0, 1.0), "sap": (0.0, 1.0)}
# dlib's unsupervised scores are unbounded above; every other metric lies in [0, 1].
_UNBOUNDED_METRICS = ("unsupervised_",)


def interval_columns(columns: Sequence[str], with_interval: Sequence[str]) -> list[str]:
  """`columns` with ``<c>_low``, ``<c>_high`` after each column `c` of `with_interval`."""
  result = []
  for column in columns:
    result.append(column)
    if column in with_interval:
      result += [f"{column}_low", f"{column}_high"]
  return result


def method_text(confidence: float = resampling.CONFIDENCE) -> str:
  """One sentence on how the intervals are made (table captions, results.json)."""
  return (f"{100 * confidence:.0f}% intervals over the group's models (seeds): delete-d "
          "jackknife, d = floor(sqrt(n)) models left out per resample (all C(n, d) subsets up "
          "to --resamples, else that many at random), OPTICS redone on each resample from the "
          "pairwise matrices; estimate +- t(n-1) x jackknife standard error (for a mean over "
          "models: the Student t interval)")


def chance_text(permutations: int) -> str:
  """One sentence on the chance levels (table captions, results.json)."""
  return (f"{CHANCE_MARK}: not above chance, i.e. at or below the "
          f"{100 * chance_lib.CHANCE_QUANTILE:.0f}th percentile of a permutation null on the "
          f"same points ({permutations} permutations; channel-factor: factor labels shuffled; "
          "channel-channel: one channel's points shuffled)")


# ---------------------------------------------------------------------------- resampling


@dataclasses.dataclass
class GroupResamples:
  """One group's resamples.

  Attributes
  ----------
  models : list of int
      The group's models (indices into the dataset's embeddings).
  subsets : ModelSubsets or None
      None for a group of one model.
  structures : dict
      {distance: ResampledStructure}; empty when a resample would keep fewer than two
      models (a group of two).
  """
  models: list[int]
  subsets: resampling.ModelSubsets | None
  structures: dict[str, resampling.ResampledStructure]


def _sort_key(info) -> tuple:
  """Groups of one method in increasing hyperparameter value (numbers as numbers)."""
  value = info.hyperparameter_value
  numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
  return (info.method_label, 0 if numeric else 1, value if numeric else 0, str(value))


def models_by_group(embeddings: Sequence[embedding_lib.ModelEmbedding]) -> dict[str, list[int]]:
  """{"all": every model, then each hyperparameter label: its models}, labels in order."""
  result = {"all": list(range(len(embeddings)))}
  labels = [structure_lib.hyperparameter_label(e.info) for e in embeddings]
  first = {}
  for index, label in enumerate(labels):
    first.setdefault(label, index)
  for label in sorted(first, key=lambda l: _sort_key(embeddings[first[l]].info)):
    result[label] = [i for i, l in enumerate(labels) if l == label]
  return result


def _owners(structure, embeddings, models: Sequence[int]) -> np.ndarray:
  """The model (0..n-1, in `models` order) of each channel of a group's structure."""
  local = {embeddings[m].info.name: i for i, m in enumerate(models)}
  return np.array([local[str(cid).rsplit(":", 1)[0]] for cid in structure.channel_ids],
                  dtype=np.int64)


def resample_groups(embeddings: Sequence[embedding_lib.ModelEmbedding],
                    structures: structure_lib.Structures, *, min_samples: int, resamples: int,
                    seed: int) -> dict[str, GroupResamples]:
  """Every group's structures redone on the jackknife resamples of its models.

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  structures : {distance: {group: EnsembleStructure}}
      `structure.find_structures`.
  min_samples : int
      The OPTICS ``min_samples`` of the run.
  resamples, seed : int
      See `resampling.model_subsets` (the same seed for every group).

  Returns
  -------
  {group: GroupResamples}, for the groups of `structures`.
  """
  models_of = models_by_group(embeddings)
  result = {}
  for group in structures[structure_lib.HOTSPOT_DISTANCE]:
    models = models_of[group]
    if len(models) < 2:
      result[group] = GroupResamples(models, None, {})
      continue
    subsets = resampling.model_subsets(len(models), resamples=resamples, seed=seed)
    redone = {}
    if subsets.num_models - subsets.deleted >= 2:
      for distance, by_group in structures.items():
        structure = by_group[group]
        redone[distance] = resampling.resample_structure(
            structure, _owners(structure, embeddings, models), subsets, min_samples=min_samples)
    result[group] = GroupResamples(models, subsets, redone)
  return result


def stability_of(resampled: Mapping[str, GroupResamples],
                 structures: structure_lib.Structures) -> dict[tuple[str, str], dict[int, float]]:
  """{(distance, group): {hotspot label: stability}} (NaN where not resampled)."""
  result = {}
  for distance, by_group in structures.items():
    for group, structure in by_group.items():
      redone = resampled.get(group, GroupResamples([], None, {})).structures.get(distance)
      values = (redone.stability if redone is not None
                else np.full(len(structure.hotspots), np.nan))
      result[(distance, group)] = {h.label: float(v) for h, v in zip(structure.hotspots, values)}
  return result


def _number(value: Any) -> float:
  return float(value) if value is not None else math.nan


def _set_interval(row: dict, column: str, low: float, high: float) -> None:
  row[f"{column}_low"] = float(low) if np.isfinite(low) else None
  row[f"{column}_high"] = float(high) if np.isfinite(high) else None


def add_group_intervals(rows: list[dict], resampled: Mapping[str, GroupResamples],
                        model_table: Sequence[Mapping],
                        embeddings: Sequence[embedding_lib.ModelEmbedding]) -> None:
  """Adds ``<column>_low/_high`` of `GROUP_INTERVALS` and ``resampling`` to group rows."""
  by_name = {row["model"]: row for row in model_table}
  columns = list(GROUP_INTERVALS)
  for row in rows:
    group = resampled.get(row["group"])
    if group is None or group.subsets is None:
      continue
    members = [by_name.get(embeddings[m].info.name, {}) for m in group.models]
    active = resampling.subset_means(
        [_number(m.get("active_channels")) for m in members], group.subsets)
    mig = resampling.subset_means([_number(m.get("mig")) for m in members], group.subsets)
    redone = group.structures.get(structure_lib.HOTSPOT_DISTANCE)
    structure_values = (redone.statistics if redone is not None
                        else np.full((group.subsets.count, 3), np.nan))
    values = np.column_stack([active, structure_values, mig])
    estimate = np.array([_number(row.get(c)) for c in columns])
    low, high = resampling.jackknife_interval(estimate, values, group.subsets,
                                              bounds=[GROUP_INTERVALS[c] for c in columns])
    for column, lo, hi in zip(columns, low, high):
      _set_interval(row, column, lo, hi)
    row["resampling"] = group.subsets.describe() + (
        "" if redone is not None else "; structure not resampled (fewer than 2 models left)")


def mean_interval_rows(embeddings: Sequence[embedding_lib.ModelEmbedding],
                       values_of: Mapping[str, Mapping[str, Any]], columns: Sequence[str], *,
                       resamples: int, seed: int,
                       groups: Mapping[str, Sequence[int]] | None = None,
                       bounds: Sequence[tuple[float, float]] | None = None) -> list[dict]:
  """Per group: the mean over its models of each column, with its jackknife interval.

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  values_of : {model name: {column: value}}
      Models without a row, and None values, are left out of the mean.
  columns : sequence of str
  groups : {group: model indices}, optional
      Default `models_by_group` (all models, then each hyperparameter value).
  bounds : sequence of (low, high), optional
      The range of each column; intervals are clipped to it.

  Returns
  -------
  list of dict: ``group``, ``models`` (with a value), ``<column>``, ``<column>_low``,
  ``<column>_high``, ``resampling``; one model (or ``resamples`` 0) gives no interval.
  """
  rows = []
  for group, models in (groups or models_by_group(embeddings)).items():
    names = [embeddings[m].info.name for m in models if embeddings[m].info.name in values_of]
    if not names:
      continue
    table = np.array([[_number(values_of[n].get(c)) for c in columns] for n in names],
                     dtype=np.float64).reshape(len(names), len(columns))
    with np.errstate(all="ignore"):
      counts = np.isfinite(table).sum(axis=0)
      estimate = np.where(counts > 0, np.nansum(table, axis=0) / np.maximum(counts, 1), np.nan)
    row = {"group": group, "models": len(names)}
    row.update({c: (float(v) if np.isfinite(v) else None) for c, v in zip(columns, estimate)})
    if len(names) >= 2 and resamples:
      subsets = resampling.model_subsets(len(names), resamples=resamples, seed=seed)
      low, high = resampling.jackknife_interval(estimate, resampling.subset_means(table, subsets),
                                                subsets, bounds=bounds)
      for column, lo, hi in zip(columns, low, high):
        _set_interval(row, column, lo, hi)
      row["resampling"] = subsets.describe()
    rows.append(row)
  return rows


def metric_group_rows(dataset: str, embeddings: Sequence[embedding_lib.ModelEmbedding],
                      model_table: Sequence[Mapping], metric_names: Sequence[str], *,
                      resamples: int, seed: int) -> list[dict]:
  """metrics_by_hyperparameter.csv: each metric's mean per group, with its interval."""
  values_of = {row["model"]: row for row in model_table}
  bounds = [(0.0, math.inf) if name.startswith(_UNBOUNDED_METRICS) else (0.0, 1.0)
            for name in metric_names]
  rows = mean_interval_rows(embeddings, values_of, list(metric_names), resamples=resamples,
                            seed=seed, bounds=bounds)
  return [dict(row, dataset=dataset) for row in rows]


def space_group_rows(dataset: str, embeddings: Sequence[embedding_lib.ModelEmbedding],
                     space_rows: Sequence[Mapping], *, resamples: int, seed: int) -> list[dict]:
  """Spaces-table rows of kind "group mean": each group's mean over its model rows.

  The concatenated spaces would need a Monte Carlo run per resample; the interval is
  over the models' own rows instead (one row per hyperparameter value with two or more
  models).
  """
  values_of = {row["space"]: row for row in space_rows if row.get("kind") == "model"}
  groups = {g: m for g, m in models_by_group(embeddings).items() if g != "all" and len(m) >= 2}
  if not groups:  # no hyperparameter value with two or more models: no group mean
    return []
  rows = mean_interval_rows(embeddings, values_of, list(SPACE_MEANS), resamples=resamples,
                            seed=seed, groups=groups, bounds=list(SPACE_MEANS.values()))
  result = []
  for row in rows:
    if row["group"] not in groups:
      continue
    members = [values_of[embeddings[m].info.name] for m in groups[row["group"]]
               if embeddings[m].info.name in values_of]
    first = members[0]
    # Every other estimate of the model rows (per-factor NMI / VI) is averaged too, and
    # each "_err" becomes the Monte Carlo error of the mean of independent estimates.
    for value_key, error_key in _error_pairs(first):
      values = np.array([_number(m.get(value_key)) for m in members])
      errors = np.array([_number(m.get(error_key)) for m in members])
      usable = np.isfinite(values) & np.isfinite(errors)
      if value_key not in SPACE_MEANS:
        row[value_key] = float(np.mean(values[usable])) if usable.any() else math.nan
      row[error_key] = (float(np.sqrt(np.sum(errors[usable] ** 2)) / usable.sum())
                        if usable.any() else math.nan)
    reported = row.get("factors_nmi") is not None and np.isfinite(row["factors_nmi"])
    result.append(dict(row, dataset=dataset, kind="group mean",
                       space=f"{row['group']} (mean of {row['models']} models)",
                       method=first.get("method"), members=row["models"],
                       dims=first.get("dims"), points=first.get("points"),
                       mc_samples=first.get("mc_samples"), seed=first.get("seed"),
                       note=None if reported else "NMI not reported: below the information "
                                                  "floor in every model of the group"))
  return result


def _error_pairs(row: Mapping[str, Any]) -> list[tuple[str, str]]:
  """(value key, standard-error key) of a spaces row: info_bits / info_err, factors_vi_bits /
  factors_vi_err, nmi_x / nmi_x_err, ..."""
  pairs = []
  for key in row:
    if key.endswith("_err"):
      stem = key[:-len("_err")]
      value = stem if stem in row else f"{stem}_bits"
      if value in row:
        pairs.append((value, key))
  return pairs


# ---------------------------------------------------------------------------- chance


def factor_nulls(embeddings: Sequence[embedding_lib.ModelEmbedding], factors: np.ndarray, *,
                 cache_dir: str, permutations: int, seed: int) -> dict[str, np.ndarray]:
  """{model name: ndarray of shape (P, c, F)}: NMI of each channel with each factor after
  the points' factor tuples are shuffled; NaN for inactive channels.

  The same P shuffles for every model; cached as ``chance-<model key>-p<P>-s<seed>.npz``
  next to the model's embedding (the folder is per fingerprint sample).
  """
  shuffles = chance_lib.permutations(factors.shape[0], permutations, seed)
  result = {}
  for e in embeddings:
    path = layout.chance_cache(cache_dir, embedding_lib.model_key(e.info.model_dir),
                              permutations, seed)
    stored = io.load_npz_or_set_aside(path, ("null",))
    if stored is not None and stored["null"].shape == (permutations, e.num_channels,
                                                       factors.shape[1]):
      result[e.info.name] = stored["null"]
      continue
    null = np.full((permutations, e.num_channels, factors.shape[1]), np.nan)
    active = np.flatnonzero(e.active)
    if active.size:
      null[:, active, :] = chance_lib.factor_nmi_null(e.mean[:, active], e.logvar[:, active],
                                                      factors, shuffles=shuffles)
    with io.atomic_path(path) as tmp:
      np.savez(tmp, null=null)
    result[e.info.name] = null
  return result


def _member_columns(embeddings, members):
  """(mean, logvar) of shape (N, len(members)) of channel ids "<model>:<channel>"."""
  by_name = {e.info.name: e for e in embeddings}
  parts = [str(m).rsplit(":", 1) for m in members]
  mean = np.stack([by_name[name].mean[:, int(c)] for name, c in parts], axis=1)
  logvar = np.stack([by_name[name].logvar[:, int(c)] for name, c in parts], axis=1)
  return mean, logvar


def hotspot_pair_nulls(embeddings: Sequence[embedding_lib.ModelEmbedding],
                       structures: structure_lib.Structures, *, permutations: int,
                       seed: int) -> dict[tuple[str, str, int], np.ndarray]:
  """{(distance, group, hotspot label): ndarray of shape (P,)}: NMI of two of the hotspot's
  channels with one's points shuffled, a random pair per draw.

  Pairs are drawn among at most `MAX_NULL_MEMBERS` members (a random subset) to bound the
  work; draws are seeded by `seed` and the member set, so a hotspot found on both
  distances or in two groups gets the same draws, computed once.
  """
  done: dict[frozenset, np.ndarray] = {}
  result = {}
  for distance, by_group in structures.items():
    for group, structure in by_group.items():
      for hotspot in structure.hotspots:
        key = frozenset(str(m) for m in hotspot.members)
        if key not in done:
          members = sorted(key)
          rng = np.random.default_rng([seed, zlib.crc32(" ".join(members).encode())])
          if len(members) > MAX_NULL_MEMBERS:
            members = sorted(rng.choice(members, MAX_NULL_MEMBERS, replace=False).tolist())
          mean, logvar = _member_columns(embeddings, members)
          first = rng.integers(0, len(members), permutations)
          second = (first + rng.integers(1, len(members), permutations)) % len(members)
          shuffles = np.argsort(rng.random((permutations, mean.shape[0])), axis=1)
          done[key] = chance_lib.pair_nmi_null(mean, logvar, np.stack([first, second], axis=1),
                                               shuffles=shuffles)
        result[(distance, group, hotspot.label)] = done[key]
  return result


def _marked(value: float | None, chance: float | None) -> bool:
  """True when a value is not above its chance level."""
  return (value is not None and chance is not None and np.isfinite(value)
          and np.isfinite(chance) and value <= chance)


def add_model_chance(rows: list[dict], embeddings: Sequence[embedding_lib.ModelEmbedding],
                     nulls: Mapping[str, np.ndarray]) -> None:
  """Per channel, the chance level of its best-factor NMI (the null of the maximum over
  factors): ``best_factor_chance_per_channel``, and a mark on ``best_factor_per_channel``."""
  by_name = {e.info.name: e for e in embeddings}
  for row in rows:
    null = nulls.get(row["model"])
    embedding = by_name.get(row["model"])
    if null is None or embedding is None:
      continue
    levels = chance_lib.chance_level(np.max(null, axis=2))
    best = np.clip(np.max(embedding.factor_nmi, axis=1), 0.0, 1.0)
    row["best_factor_chance_per_channel"] = [
        round(float(v), 3) if np.isfinite(v) else None for v in levels]
    row["best_factor_per_channel"] = [
        text + CHANCE_MARK if text != "-" and _marked(float(value), float(level)) else text
        for text, value, level in zip(row["best_factor_per_channel"], best, levels)]


def add_hotspot_columns(rows: list[dict], structures: structure_lib.Structures,
                        stability: Mapping[tuple[str, str], Mapping[int, float]] | None,
                        factor_null: Mapping[str, np.ndarray] | None,
                        pair_null: Mapping[tuple[str, str, int], np.ndarray] | None,
                        factor_names: Sequence[str]) -> None:
  """``stability``; ``mean_nmi_chance``; ``best_factor_nmi_chance`` and ``factor_nmi_chance``
  (the null of the members' mean NMI with the factor(s), from the same shuffles)."""
  for row in rows:
    key = (row["distance"], row["group"])
    if stability is not None:
      value = stability.get(key, {}).get(row["hotspot"])
      row["stability"] = value if value is not None and np.isfinite(value) else None
    if pair_null is not None:
      draws = pair_null.get(key + (row["hotspot"],))
      if draws is not None:
        row["mean_nmi_chance"] = float(chance_lib.chance_level(draws))
    if factor_null is not None:
      members = [str(m).rsplit(":", 1) for m in str(row["members"]).split()]
      stacked = np.stack([factor_null[name][:, int(c), :] for name, c in members], axis=1)
      mean_null = np.mean(stacked, axis=1)  # (P, F): the members' mean, per draw
      levels = chance_lib.chance_level(mean_null)
      row["factor_nmi_chance"] = {n: float(v) for n, v in zip(factor_names, levels)}
      row["best_factor_nmi_chance"] = float(chance_lib.chance_level(np.max(mean_null, axis=1)))


def add_group_chance(rows: list[dict], hotspot_rows: Sequence[Mapping],
                     pair_null: Mapping[tuple[str, str, int], np.ndarray]) -> None:
  """``mean_hotspot_nmi_chance`` (the 95th percentile of the group's hotspots' pair draws,
  pooled) and a mark on each ``hotspot_factors`` entry not above its chance level."""
  for row in rows:
    mine = [h for h in hotspot_rows
            if h["group"] == row["group"] and h["distance"] == row["distance"]]
    draws = [pair_null[(row["distance"], row["group"], h["hotspot"])] for h in mine
             if (row["distance"], row["group"], h["hotspot"]) in pair_null]
    if draws:
      row["mean_hotspot_nmi_chance"] = float(chance_lib.chance_level(np.concatenate(draws)))
    marked = {h["hotspot"] for h in mine
              if _marked(h.get("best_factor_nmi"), h.get("best_factor_nmi_chance"))}
    if marked and row.get("hotspot_factors"):
      row["hotspot_factors"] = " ".join(
          part + CHANCE_MARK if int(part.split(":", 1)[0]) in marked else part
          for part in row["hotspot_factors"].split())


# ---------------------------------------------------------------------------- display


def interval_text(value: Any, low: Any, high: Any, digits: int = 3) -> str:
  """``"0.833 [0.700, 0.950]"``; the value alone without an interval; "" for None."""
  if value is None or (isinstance(value, float) and not np.isfinite(value)):
    return "" if value is None else "nan"
  text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
  if low is None or high is None:
    return text
  # A count (e.g. hotspots) keeps its integer look; its interval bounds get one decimal.
  bound_digits = digits if isinstance(value, float) else 1
  return f"{text} [{low:.{bound_digits}f}, {high:.{bound_digits}f}]"


def display_rows(rows: Sequence[Mapping], with_interval: Sequence[str],
                 with_chance: Sequence[str] = (), digits: int = 3) -> list[dict]:
  """Copies of `rows` for the Markdown tables: each column of `with_interval` as
  ``value [low, high]``, each of `with_chance` marked `CHANCE_MARK` when not above its
  ``<column>_chance``."""
  shown = []
  for row in rows:
    copy = dict(row)
    for column in with_interval:
      if column in row:
        copy[column] = interval_text(row.get(column), row.get(f"{column}_low"),
                                     row.get(f"{column}_high"), digits)
    for column in with_chance:
      if _marked(row.get(column), row.get(f"{column}_chance")):
        text = copy[column] if isinstance(copy[column], str) else f"{copy[column]:.{digits}f}"
        copy[column] = text.replace(" [", CHANCE_MARK + " [", 1) if " [" in text \
            else text + CHANCE_MARK
    shown.append(copy)
  return shown
