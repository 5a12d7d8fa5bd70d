"""The last stage of a zoo analysis: its tables and results.json, written atomically.

models.{csv,md}, hotspots.{csv,md} and selection.{csv,md} always; groups.{csv,md} and
metrics_by_hyperparameter.{csv,md} with --per_hyperparameter; spaces.{csv,md},
model_similarity.{csv,md} and fusion.{csv,md} when those stages ran; results.json holds
every row, each dataset's details and how the intervals and chance levels were made.
Per-group numbers carry ``<column>_low`` / ``<column>_high`` in the CSV and show as
``value [low, high]`` in Markdown, with a caption under the table saying how.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from infofrag.analysis import fusion_runs
from infofrag.analysis import options as options_lib
from infofrag.analysis import pipeline
from infofrag.analysis import resampling
from infofrag.analysis import selection as selection_lib
from infofrag.analysis import structure as structure_lib
from infofrag.analysis import tables
from infofrag.analysis import uncertainty
from infofrag.fragments import chance
from infofrag.metrics import registry
from infofrag.reports import tables as table_files
from infofrag.utils import io
from infofrag.utils import layout

SPACE_SUMMARY_COLUMNS = [("space", "space"), ("kind", "kind"), ("method", "method"),
                         ("dims", "dims"),
                         ("points", "points"), ("info_bits", "I(U;X) bits"), ("info_err", "±"),
                         ("info_fraction", "I/H(X)"),
                         ("bhattacharyya_info_bits", "I bound (Bhatt.)"),
                         ("factors_nmi", "NMI factors"), ("factors_nmi_err", "±"),
                         ("factors_vi_bits", "VI factors (bits)"), ("factors_vi_err", "±"),
                         ("bhattacharyya_factors_nmi", "NMI factors (Bhatt.)"),
                         ("mig", "MIG"), ("sap", "SAP")]


# Every table a run can write (each as .csv and .md). A run removes those it did not write,
# so that nothing in the folder, nor the report built from it, is left from an earlier run.
TABLE_NAMES = ("models", "hotspots", "groups", "spaces", "model_similarity", "fusion",
               "metrics_by_hyperparameter", "selection")


@dataclasses.dataclass
class MarkdownTables:
  """The Markdown of each table written (None: that table was not asked for)."""
  models: str
  hotspots: str | None
  groups: str | None = None
  fusion: str | None = None
  spaces: str | None = None
  model_similarity: str | None = None
  metrics_by_hyperparameter: str | None = None
  selection: str | None = None


def _write(output_dir: str, name: str, rows: list[dict], columns: list, md_columns: list,
           md_rows: list[dict] | None = None, caption: str = "") -> str:
  """Writes NAME.csv from `rows` and NAME.md from `md_rows` (default `rows`), the caption
  under the Markdown table; returns the Markdown."""
  table_files.write_csv(layout.table_path(output_dir, name, ".csv"), rows, columns)
  markdown = table_files.markdown_table(rows if md_rows is None else md_rows, md_columns, digits=3)
  if caption:
    markdown += "\n\n" + caption
  table_files.write_markdown(layout.table_path(output_dir, name, ".md"), markdown)
  return markdown


def uncertainty_settings(options: options_lib.EvaluationOptions) -> dict[str, Any]:
  """How the intervals, stabilities and chance levels of a run were made (results.json)."""
  return {
      "intervals": {"method": "delete-d jackknife over models", "deleted": "floor(sqrt(n))",
                    "confidence": resampling.CONFIDENCE, "resamples": options.resamples,
                    "seed": options.resample_seed, "description": uncertainty.method_text()},
      "hotspot_stability": {"jaccard_above": resampling.JACCARD_MATCH,
                            "resamples": "the group's jackknife resamples"},
      "chance": {"permutations": options.permutations, "seed": options.resample_seed,
                 "quantile": chance.CHANCE_QUANTILE,
                 "channel_factor": "factor tuples of the points shuffled",
                 "channel_channel": "one channel's points shuffled, a random pair of the "
                                    "hotspot's members per permutation"},
      "selection": {"method": "percentile bootstrap of Spearman's rho over models",
                    "confidence": selection_lib.CONFIDENCE, "resamples": options.resamples,
                    "seed": options.resample_seed}}


def _captions(options: options_lib.EvaluationOptions) -> dict[str, str]:
  """The caption under each Markdown table that has intervals or chance marks."""
  intervals = uncertainty.method_text() + "." if options.resamples else \
      "No intervals (--resamples 0)."
  chance = uncertainty.chance_text(options.permutations) + "." if options.permutations else ""
  stability = (f"stability: the fraction of the group's jackknife resamples (OPTICS redone) in "
               f"which a hotspot overlapping its kept members by Jaccard > "
               f"{resampling.JACCARD_MATCH} reappears." if options.resamples else "")
  bootstrap = (f"{100 * selection_lib.CONFIDENCE:.0f}% percentile bootstrap over models "
               f"({options.resamples} resamples, seed {options.resample_seed})"
               if options.resamples else "no intervals (--resamples 0)")
  return {
      "groups": " ".join(p for p in (intervals, chance) if p),
      "hotspots": " ".join(p for p in (stability, chance) if p),
      "models": chance.replace(f"{uncertainty.CHANCE_MARK}:", f"{uncertainty.CHANCE_MARK} after a "
                                                               "channel's best factor:", 1),
      "metrics_by_hyperparameter": "Mean over each group's models. " + intervals,
      "spaces": ("Group-mean rows: the mean of the group's model rows, with "
                 + intervals[0].lower() + intervals[1:] + " Their ± is the Monte Carlo error of "
                 "that mean. Other rows: Monte Carlo ± one standard error (an interval over "
                 "models for a concatenated space would need a Monte Carlo run per resample)."
                 if options.resamples else ""),
      "selection": ("Spearman rank correlation across each dataset's models between an "
                    "unsupervised score (rows) and a supervised metric (columns), with a "
                    f"{bootstrap}; the scores are computed once on the whole ensemble."),
  }


def results_document(analysis: pipeline.ZooAnalysis,
                     run_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
  """The JSON document of results.json (every row, per-dataset details, settings)."""
  document = {
      "models": analysis.rows("models"), "hotspots": analysis.rows("hotspots"),
      "groups": analysis.rows("groups"), "spaces": analysis.rows("spaces"),
      "model_similarity": analysis.rows("model_similarity"),
      "metrics_by_hyperparameter": analysis.rows("metrics_by_hyperparameter"),
      "selection": analysis.rows("selection"),
      "datasets": {name: d.details for name, d in analysis.datasets.items()},
      "failures": [dataclasses.asdict(f) for f in analysis.failures],
      "duplicates": [dataclasses.asdict(d) for d in analysis.all_duplicates],
      "stage_failures": [dataclasses.asdict(f) for f in analysis.stage_failures],
      "tables": tables_written(analysis.options),
      "settings": analysis.options.settings,
      "uncertainty": uncertainty_settings(analysis.options),
      "captions": _captions(analysis.options)}
  if run_info is not None:
    document["run"] = dict(run_info)
  return document


def tables_written(options: options_lib.EvaluationOptions) -> list[str]:
  """The names of the tables a run with `options` writes (models and hotspots always)."""
  metrics = bool(registry.metric_columns(options.metrics))
  asked = {"groups": options.per_hyperparameter, "spaces": options.spaces,
           "metrics_by_hyperparameter": options.per_hyperparameter and metrics,
           "selection": bool(selection_lib.supervised_columns(options.metrics)),
           "model_similarity": options.model_similarity, "fusion": options.fusion}
  return [name for name in TABLE_NAMES if asked.get(name, True)]


def remove_stale_outputs(output_dir: str, tables_kept: list[str], figures_kept: list[str]) -> list[str]:
  """Removes the tables and figures of earlier runs that this run did not write.

  Parameters
  ----------
  output_dir : str
  tables_kept : list of str
      Table names written by this run.
  figures_kept : list of str
      Figure paths written by this run.

  Returns
  -------
  list of str, the removed paths.
  """
  removed = []
  for name in TABLE_NAMES:
    if name not in tables_kept:
      for extension in (".csv", ".md"):
        path = layout.table_path(output_dir, name, extension)
        if os.path.exists(path):
          os.remove(path)
          removed.append(path)
  kept = {os.path.realpath(p) for p in figures_kept}
  for folder, _, names in os.walk(layout.figures_root(output_dir)):
    for name in names:
      path = os.path.join(folder, name)
      # models_scatter.png is drawn by the report from this run's models table.
      if name.endswith(".png") and name != layout.MODELS_SCATTER_FIGURE \
          and os.path.realpath(path) not in kept:
        os.remove(path)
        removed.append(path)
  return removed


def _figures_of(analysis: pipeline.ZooAnalysis) -> list[str]:
  paths = []
  for dataset in analysis.datasets.values():
    paths += dataset.figures
    if dataset.details.get("model_similarity_figure"):
      paths.append(dataset.details["model_similarity_figure"])
  return paths


def write_tables(analysis: pipeline.ZooAnalysis,
                 run_info: Mapping[str, Any] | None = None) -> MarkdownTables:
  """Writes every table of the analysis and results.json; returns their Markdown."""
  options = analysis.options
  output_dir = options.output_dir
  models = analysis.rows("models")
  metric_names = [column for _, _, column in registry.metric_columns(options.metrics)]
  # A zoo of several datasets shows each model's dataset (one analysis per dataset).
  dataset_column = ["dataset"] if len(analysis.datasets) > 1 else []
  # ... and each model's source when a zoo mixes SavedModels, ONNX encoders and bundles.
  source_column = ["source"] if len({row.get("source") for row in models}) > 1 else []
  short_model_columns = (["model"] + dataset_column + source_column + ["method", "value", "seed"]
                         + metric_names
                         + ["info_total_bits", "active_channels", "best_factor_per_channel"])
  captions = _captions(options)
  hotspots = analysis.rows("hotspots")
  hotspot_chance = ["stability", "mean_nmi_chance", "best_factor_nmi_chance"]
  result = MarkdownTables(
      models=_write(output_dir, "models", models, tables.model_columns(options.metrics)
                    + ["best_factor_chance_per_channel"], short_model_columns,
                    caption=captions["models"]),
      hotspots=_write(output_dir, "hotspots", hotspots,
                      tables.HOTSPOT_COLUMNS + hotspot_chance,
                      tables.HOTSPOT_COLUMNS[:-1] + ["stability"],
                      md_rows=uncertainty.display_rows(hotspots, (),
                                                       ("mean_nmi", "best_factor_nmi")),
                      caption=captions["hotspots"] if hotspots else ""))
  written = tables_written(options)
  if options.per_hyperparameter:
    groups = analysis.rows("groups")
    result.groups = _write(output_dir, "groups", groups,
                           uncertainty.interval_columns(tables.GROUP_COLUMNS,
                                                        uncertainty.GROUP_INTERVALS)
                           + ["mean_hotspot_nmi_chance", "resampling"],
                           tables.GROUP_COLUMNS,
                           md_rows=uncertainty.display_rows(groups, uncertainty.GROUP_INTERVALS,
                                                            ("mean_hotspot_nmi",)),
                           caption=captions["groups"])
  if "metrics_by_hyperparameter" in written:
    metric_rows = analysis.rows("metrics_by_hyperparameter")
    result.metrics_by_hyperparameter = _write(
        output_dir, "metrics_by_hyperparameter", metric_rows,
        ["dataset", "group", "models"] + uncertainty.interval_columns(metric_names, metric_names)
        + ["resampling"], dataset_column + ["group", "models"] + metric_names,
        md_rows=uncertainty.display_rows(metric_rows, metric_names),
        caption=captions["metrics_by_hyperparameter"])
  if options.spaces:
    space_rows = analysis.rows("spaces")
    result.spaces = _write(output_dir, "spaces", space_rows,
                           uncertainty.interval_columns(
                               tables.SPACE_COLUMNS + tables.factor_columns(
                                   analysis.factor_names), uncertainty.SPACE_MEANS)
                           + ["resampling"], SPACE_SUMMARY_COLUMNS,
                           md_rows=uncertainty.display_rows(space_rows, uncertainty.SPACE_MEANS),
                           caption=captions["spaces"])
  supervised = selection_lib.supervised_columns(options.metrics)
  selection_rows = analysis.rows("selection")
  if "selection" in written:
    result.selection = _write(output_dir, "selection", selection_rows,
                              selection_lib.selection_columns(supervised),
                              dataset_column + ["score", "models"] + supervised + ["note"],
                              md_rows=uncertainty.display_rows(selection_rows, supervised),
                              caption=captions["selection"])
  if options.model_similarity:
    result.model_similarity = _write(output_dir, "model_similarity",
                                     analysis.rows("model_similarity"),
                                     tables.SIMILARITY_COLUMNS,
                                     tables.SIMILARITY_COLUMNS)
  if options.fusion:
    result.fusion = _write(output_dir, "fusion", analysis.rows("fusion"),
                           fusion_runs.FUSION_COLUMNS, fusion_runs.FUSION_COLUMNS)
  remove_stale_outputs(output_dir, tables_written(options), _figures_of(analysis))
  io.write_json_atomic(layout.results_path(output_dir),
                       results_document(analysis, run_info))
  return result


def summary_text(analysis: pipeline.ZooAnalysis, markdown: MarkdownTables) -> str:
  """What the command prints: the tables, with headings, and the main figure per dataset."""
  parts = ["## Models", markdown.models, "## Hotspots",
           markdown.hotspots if analysis.rows("hotspots") else "(no hotspots found)"]
  if markdown.groups is not None:
    parts += [f"## Groups (hotspots on the {structure_lib.HOTSPOT_DISTANCE.upper()} distance)",
              markdown.groups]
  if markdown.metrics_by_hyperparameter is not None and analysis.rows("metrics_by_hyperparameter"):
    parts += ["## Metrics by hyperparameter value", markdown.metrics_by_hyperparameter]
  if markdown.fusion is not None:
    parts += ["## Fusion", markdown.fusion]
  if markdown.spaces is not None:
    parts += ["## Whole spaces (Monte Carlo, ± standard error)", markdown.spaces]
  if markdown.model_similarity is not None:
    parts += ["## Model-pair similarity (Monte Carlo)", markdown.model_similarity]
  if markdown.selection is not None:
    parts += ["## Model selection (do unsupervised scores rank models like the metrics?)",
              markdown.selection]
  figures = [f"figure: {path}" for d in analysis.datasets.values() for path in d.figures
             if "structure_all_nmi" in path]
  return "\n\n".join([""] + parts + figures)
