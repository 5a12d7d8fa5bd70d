"""Table rows made from the stage results: one per model, per hotspot and per group.

Each row is a plain dict (JSON-able after `infofrag.utils.io.to_json_compatible`); the
column lists say which keys the CSV and Markdown tables show, in order.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from infofrag.evaluation import embedding as embedding_lib
from infofrag.evaluation import groups as groups_lib
from infofrag.evaluation import metric_runs
from infofrag.evaluation import spaces as spaces_lib
from infofrag.evaluation import structure as structure_lib
from infofrag.fragments import structure as fragments_structure

MODEL_COLUMNS_HEAD = ["model", "dataset", "source", "method", "hyperparameter", "value", "seed"]
MODEL_COLUMNS_TAIL = ["metrics_by", "udr_lasso", "udr_spearman", "info_total_bits", "active_channels",
                      "info_bits_per_channel",
                      "best_factor_per_channel", "hotspot_per_channel", "model_dir"]
HOTSPOT_COLUMNS = ["dataset", "group", "distance", "hotspot", "size", "models_covered",
                   "mean_nmi", "information_bits", "best_factor", "best_factor_nmi", "members"]


def model_columns(metrics: Sequence[str]) -> list[str]:
  """Columns of models.csv: identity, the metrics' headline numbers, channel analysis."""
  return (MODEL_COLUMNS_HEAD + [column for _, _, column in metric_runs.metric_columns(metrics)]
          + MODEL_COLUMNS_TAIL)


def model_rows(embeddings: Sequence[embedding_lib.ModelEmbedding], metric_rows: Sequence[Mapping],
               structure: Optional[fragments_structure.EnsembleStructure],
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
  threshold = embedding_lib.INFO_THRESHOLD_BITS
  rows, offset = [], 0
  for e in embeddings:
    row = {"model": e.info.name, "dataset": e.info.dataset, "source": e.info.source,
           "method": e.info.method_label,
           "hyperparameter": e.info.hyperparameter, "value": e.info.hyperparameter_value,
           "seed": e.info.seed, "model_dir": e.info.model_dir}
    metric_row = metrics_by_dir.get(e.info.model_dir, {})
    for _, _, column in metric_runs.metric_columns(metrics):
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
  from infofrag import fragments  # pylint: disable=g-import-not-at-top
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
            "models_covered": len(set(groups_lib.model_groups(hotspot.members))),
            "mean_nmi": spaces_lib.clipped_nmi(hotspot.mean_nmi),
            "information_bits": hotspot.information_bits, "best_factor": factor_names[best],
            "best_factor_nmi": spaces_lib.clipped_nmi(float(mean_factor_nmi[best])),
            "members": " ".join(hotspot.members),
            "representative": structure_lib.representative(hotspot, structure),
            "factor_nmi": {name: spaces_lib.clipped_nmi(float(v))
                           for name, v in zip(factor_names, mean_factor_nmi)}})
  return rows


def group_rows(dataset: str, structures: structure_lib.Structures,
               embeddings: Sequence[embedding_lib.ModelEmbedding], model_table: Sequence[Mapping],
               factor_names: Sequence[str]) -> list[dict]:
  """The per-group summary (groups.csv) from the hotspots of `HOTSPOT_DISTANCE`."""
  by_group = structures[structure_lib.HOTSPOT_DISTANCE]
  label_of = {e.info.name: structure_lib.hyperparameter_label(e.info) for e in embeddings}
  models_of: dict[str, list[Mapping]] = {}
  for row in model_table:
    models_of.setdefault(label_of[row["model"]], []).append(row)
  factor_nmi_of = {group: structure_lib.aligned_factor_nmi(embeddings, s)
                   for group, s in by_group.items()}
  return groups_lib.group_rows(dataset, by_group, factor_nmi_of, factor_names, models_of)
