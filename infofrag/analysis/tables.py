"""Every table's rows and columns, made from the stage results.

One row per model (models.csv), per hotspot (hotspots.csv), per group (groups.csv), per
whole space (spaces.csv) and per model pair (model_similarity.csv). Each row is a plain
dict (JSON-able after `infofrag.utils.io.to_json_compatible`); the column lists say which
keys the CSV and Markdown tables show, in order. The numbers come from `infofrag.fragments`
and `infofrag.metrics`; this module only names and arranges them.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import structure as structure_lib
from infofrag.fragments import structure as fragments_structure
from infofrag.fragments import whole_spaces as spaces_lib
from infofrag.metrics import mig as mig_lib
from infofrag.metrics import registry
from infofrag.metrics import sap as sap_lib

MODEL_COLUMNS_HEAD = ["model", "dataset", "source", "method", "hyperparameter", "value", "seed"]
MODEL_COLUMNS_TAIL = ["metrics_by", "udr_lasso", "udr_spearman", "info_total_bits", "active_channels",
                      "info_bits_per_channel",
                      "best_factor_per_channel", "hotspot_per_channel", "model_dir"]
HOTSPOT_COLUMNS = ["dataset", "group", "distance", "hotspot", "size", "models_covered",
                   "mean_nmi", "information_bits", "best_factor", "best_factor_nmi", "members"]
GROUP_COLUMNS = ["dataset", "group", "distance", "models", "mean_active_channels", "hotspots",
                 "fraction_in_hotspots", "mean_hotspot_nmi", "mean_mig", "hotspot_factors"]
SPACE_COLUMNS = ["dataset", "space", "kind", "method", "members", "dims", "points", "mc_samples",
                 "seed", "info_bits", "info_err", "info_fraction", "bhattacharyya_info_bits",
                 "factors_nmi", "factors_nmi_err", "factors_vi_bits", "factors_vi_err",
                 "bhattacharyya_factors_nmi", "mig", "sap", "note"]
SIMILARITY_COLUMNS = ["dataset", "group", "model_a", "model_b", "nmi", "nmi_err", "vi_bits",
                      "vi_err", "note"]


def model_columns(metrics: Sequence[str]) -> list[str]:
  """Columns of models.csv: identity, the metrics' headline numbers, channel analysis."""
  return (MODEL_COLUMNS_HEAD + [column for _, _, column in registry.metric_columns(metrics)]
          + MODEL_COLUMNS_TAIL)


def model_rows(embeddings: Sequence[embedding_lib.ModelEmbedding], metric_rows: Sequence[Mapping],
               structure: fragments_structure.EnsembleStructure | None,
               factor_names: Sequence[str], metrics: Sequence[str],
               failures_by_dir: Mapping[str, str]) -> list[dict]:
  """One row per model: identity, metrics, channel information, best factor, hotspots.

  Parameters
  ----------
  metric_rows : sequence of dict
      `metric_runs.evaluate_standard_metrics` rows (matched on ``model_dir``).
  structure : EnsembleStructure or None
      The whole ensemble's structure; its hotspot labels fill ``hotspot_per_channel``.
  failures_by_dir : {model_dir: reason}
      Metric failures, shown as ``metrics_error``.
  """
  metrics_by_dir = {row["model_dir"]: row for row in metric_rows}
  labels = (structure_lib.hotspot_label_of(structure, embedding_lib.channel_ids(embeddings))
            if structure is not None else None)
  threshold = fragments_structure.ACTIVE_BITS
  rows, offset = [], 0
  for e in embeddings:
    row = {"model": e.info.name, "dataset": e.info.dataset, "source": e.info.source,
           "method": e.info.method_label,
           "hyperparameter": e.info.hyperparameter, "value": e.info.hyperparameter_value,
           "seed": e.info.seed, "model_dir": e.info.model_dir}
    metric_row = metrics_by_dir.get(e.info.model_dir, {})
    for _, _, column in registry.metric_columns(metrics):
      row[column] = metric_row.get(column)
    row["metrics_by"] = metric_row.get("metrics_by")
    if e.info.model_dir in failures_by_dir:
      row["metrics_error"] = failures_by_dir[e.info.model_dir]
    best = np.argmax(e.factor_nmi, axis=1)
    row.update({
        "info_total_bits": e.total_information,
        "active_channels": int(np.sum(e.channel_information > threshold)),
        "info_bits_per_channel": [round(float(v), 3) for v in e.channel_information],
        # NMI of a channel without information is 0/0 noise: such channels show "-".
        "best_factor_per_channel": [
            f"{factor_names[b]}:{spaces_lib.clipped_nmi(e.factor_nmi[c, b]):.2f}"
            if e.channel_information[c] > threshold else "-" for c, b in enumerate(best)],
        "hotspot_per_channel": (labels[offset:offset + e.num_channels]
                                if labels is not None else None)})
    rows.append(row)
    offset += e.num_channels
  return rows


def hotspot_rows(dataset: str, structures: structure_lib.Structures,
                 embeddings: Sequence[embedding_lib.ModelEmbedding],
                 factor_names: Sequence[str]) -> list[dict]:
  """One row per hotspot of each distance and group.

  Keys: size, models covered, mean within-hotspot NMI, information (bits), best factor and
  its mean NMI, members, ``representative`` (the most informative member, whose traversal
  stands for the hotspot) and ``factor_nmi`` ({factor: mean NMI of the members}).
  """
  rows = []
  for distance, by_group in structures.items():
    for group, structure in by_group.items():
      aligned = structure_lib.aligned_factor_nmi(embeddings, structure)
      for hotspot, mean_factor_nmi in zip(structure.hotspots,
                                          fragments.hotspot_factor_nmi(structure, aligned)):
        best = int(np.argmax(mean_factor_nmi))
        rows.append({
            "dataset": dataset, "group": group, "distance": distance, "hotspot": hotspot.label,
            "size": hotspot.size,
            "models_covered": len(set(model_groups(hotspot.members))),
            "mean_nmi": spaces_lib.clipped_nmi(hotspot.mean_nmi),
            "information_bits": hotspot.information_bits, "best_factor": factor_names[best],
            "best_factor_nmi": spaces_lib.clipped_nmi(float(mean_factor_nmi[best])),
            "members": " ".join(hotspot.members),
            "representative": structure_lib.representative(hotspot, structure),
            "factor_nmi": {name: spaces_lib.clipped_nmi(float(v))
                           for name, v in zip(factor_names, mean_factor_nmi)}})
  return rows


def model_groups(channel_ids: Sequence[str]) -> list[str]:
  """The model name of each channel id ``"<model>:<channel>"``, in order."""
  return [str(cid).rsplit(":", 1)[0] for cid in channel_ids]


def group_row(dataset: str, group: str, structure: fragments_structure.EnsembleStructure,
              hotspot_factor_nmi: np.ndarray, factor_names: Sequence[str],
              active_channels: Sequence[int], mig: Sequence[float | None]) -> dict:
  """The groups.csv row of one group: how many channels stay informative, how much of
  that information the group's models find again and again (hotspots), and how strongly.

  Parameters
  ----------
  dataset, group : str
      Names shown in the row.
  structure : EnsembleStructure
      The group's OPTICS structure (channels of the group's models only).
  hotspot_factor_nmi : ndarray of shape (H, F)
      Mean NMI of each hotspot's members with each factor (`hotspot_factor_nmi`).
  factor_names : sequence of F str
  active_channels : sequence of int
      Per model of the group, its channels above the information threshold.
  mig : sequence of float or None
      Per model of the group, its MIG (None where it was not computed).

  Returns
  -------
  dict
      The keys of `GROUP_COLUMNS`: ``fraction_in_hotspots`` is hotspot members /
      informative channels (NaN if none); ``mean_hotspot_nmi`` the mean over hotspots of
      their mean within-hotspot NMI (NaN without a hotspot); ``hotspot_factors`` each
      hotspot's best factor and its mean NMI, e.g. ``"0:pos_x=0.52 1:pos_y=0.49"``.
  """
  informative = len(structure.kept)
  in_hotspots = sum(h.size for h in structure.hotspots)
  known_mig = [float(v) for v in mig if v is not None]
  best = [(h.label, factor_names[int(np.argmax(row))], float(np.clip(np.max(row), 0, 1)))
          for h, row in zip(structure.hotspots, hotspot_factor_nmi)]
  return {
      "dataset": dataset, "group": group, "distance": structure.distance,
      "models": len(active_channels),
      "mean_active_channels": float(np.mean(active_channels)) if active_channels else float("nan"),
      "hotspots": len(structure.hotspots),
      "fraction_in_hotspots": in_hotspots / informative if informative else float("nan"),
      "mean_hotspot_nmi": (float(np.clip(np.mean([h.mean_nmi for h in structure.hotspots]), 0, 1))
                           if structure.hotspots else float("nan")),
      "mean_mig": float(np.mean(known_mig)) if known_mig else None,
      "hotspot_factors": " ".join(f"{label}:{name}={value:.2f}" for label, name, value in best),
  }


def group_rows(dataset: str, structures: structure_lib.Structures,
               embeddings: Sequence[embedding_lib.ModelEmbedding], model_table: Sequence[Mapping],
               factor_names: Sequence[str]) -> list[dict]:
  """One `group_row` per hyperparameter group (the whole ensemble, "all", left out), from
  the structures of `HOTSPOT_DISTANCE`; ``active_channels`` and ``mig`` are read from the
  models table rows `model_table`."""
  label_of = {e.info.name: structure_lib.hyperparameter_label(e.info) for e in embeddings}
  models_of: dict[str, list[Mapping]] = {}
  for row in model_table:
    models_of.setdefault(label_of[row["model"]], []).append(row)
  rows = []
  for group, structure in structures[structure_lib.HOTSPOT_DISTANCE].items():
    if group == "all":
      continue
    members = models_of.get(group, [])
    means = fragments.hotspot_factor_nmi(
        structure, structure_lib.aligned_factor_nmi(embeddings, structure))
    rows.append(group_row(dataset, group, structure, means, factor_names,
                          [int(m["active_channels"]) for m in members],
                          [m.get("mig") for m in members]))
  return rows


def _standard_metrics(mean: np.ndarray, factors: np.ndarray) -> dict[str, float | None]:
  """MIG and SAP (dlib's definitions) of the posterior means on the sample's points.

  SAP trains on the first half of the points and tests on the second. Both need at least
  two codes; a one-dimensional space gets None.
  """
  if mean.shape[1] < 2:
    return {"mig": None, "sap": None}
  half = mean.shape[0] // 2
  with warnings.catch_warnings():
    # SAP treats every factor as classes (dlib); on a small sample scikit-learn warns that
    # a factor with many values "could represent a regression problem".
    warnings.filterwarnings("ignore", message="The number of unique classes is greater")
    sap = sap_lib.compute_sap(mean[:half], factors[:half], mean[half:], factors[half:],
                              random_state=0)["SAP_score"]
  return {"mig": float(mig_lib.compute_mig(mean, factors)["discrete_mig"]), "sap": float(sap)}


def space_row(space: spaces_lib.Space, factors: np.ndarray, factor_names: Sequence[str], *,
              num_samples: int, seed: int, dataset: str = "") -> dict:
  """The spaces.csv row of one space: `fragments.whole_spaces.space_measures`, then MIG and
  SAP of its posterior means on the same points.

  Parameters
  ----------
  space, factors, factor_names, num_samples, seed
      As in `space_measures`.
  dataset : str
      Shown in the row.

  Returns
  -------
  dict
      The `SPACE_COLUMNS` and the `factor_columns`.
  """
  row = {"dataset": dataset}
  row.update(spaces_lib.space_measures(space, factors, factor_names, num_samples=num_samples,
                                       seed=seed))
  row.update(_standard_metrics(space.mean, np.asarray(factors)))
  return row


def factor_columns(factor_names: Sequence[str]) -> list[str]:
  """The per-factor columns of `space_row`, in order."""
  return [f"{prefix}_{name}{suffix}" for name in factor_names
          for prefix in ("nmi", "vi") for suffix in ("", "_err")]


def similarity_rows(dataset: str, similarity: Mapping[str, Mapping]) -> list[dict]:
  """Pair rows, then one combined (inverse-variance) row per group with model_a = "combined"."""
  rows = []
  for group, result in similarity.items():
    rows += [dict(pair, dataset=dataset, group=group) for pair in result["pairs"]]
    combined = result["combined"]
    rows.append({"dataset": dataset, "group": group, "model_a": "combined",
                 "model_b": f"{combined['pairs']} pairs", "nmi": combined["nmi"],
                 "nmi_err": combined["nmi_err"], "vi_bits": combined["vi_bits"],
                 "vi_err": combined["vi_err"]})
  return rows
