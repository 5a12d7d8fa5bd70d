"""The last stage of a zoo analysis: its tables and results.json, written atomically.

models.{csv,md}, hotspots.{csv,md} always; groups.{csv,md} with --per_hyperparameter;
spaces.{csv,md}, model_similarity.{csv,md} and fusion.{csv,md} when those stages ran;
results.json holds every row and each dataset's details.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional

from infofrag.evaluation import fusion_runs
from infofrag.evaluation import groups as groups_lib
from infofrag.evaluation import metric_runs
from infofrag.evaluation import options as options_lib
from infofrag.evaluation import pipeline
from infofrag.evaluation import rows as rows_lib
from infofrag.evaluation import spaces as spaces_lib
from infofrag.evaluation import structure as structure_lib
from infofrag.evaluation import whole_spaces
from infofrag.reports import tables
from infofrag.utils import io

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
TABLE_NAMES = ("models", "hotspots", "groups", "spaces", "model_similarity", "fusion")


@dataclasses.dataclass
class MarkdownTables:
  """The Markdown of each table written (None: that table was not asked for)."""
  models: str
  hotspots: Optional[str]
  groups: Optional[str] = None
  fusion: Optional[str] = None
  spaces: Optional[str] = None
  model_similarity: Optional[str] = None


def _write(output_dir: str, name: str, rows: list[dict], columns: list, md_columns: list) -> str:
  tables.write_csv(os.path.join(output_dir, f"{name}.csv"), rows, columns)
  markdown = tables.markdown_table(rows, md_columns, digits=3)
  tables.write_markdown(os.path.join(output_dir, f"{name}.md"), markdown)
  return markdown


def results_document(analysis: pipeline.ZooAnalysis,
                     run_info: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
  """The JSON document of results.json (every row, per-dataset details, settings)."""
  document = {
      "models": analysis.rows("models"), "hotspots": analysis.rows("hotspots"),
      "groups": analysis.rows("groups"), "spaces": analysis.rows("spaces"),
      "model_similarity": analysis.rows("model_similarity"),
      "datasets": {name: d.details for name, d in analysis.datasets.items()},
      "failures": [dataclasses.asdict(f) for f in analysis.failures],
      "duplicates": [dataclasses.asdict(d) for d in analysis.all_duplicates],
      "stage_failures": [dataclasses.asdict(f) for f in analysis.stage_failures],
      "tables": tables_written(analysis.options),
      "settings": analysis.options.settings}
  if run_info is not None:
    document["run"] = dict(run_info)
  return document


def tables_written(options: options_lib.EvaluationOptions) -> list[str]:
  """The names of the tables a run with `options` writes (models and hotspots always)."""
  asked = {"groups": options.per_hyperparameter, "spaces": options.spaces,
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
        path = os.path.join(output_dir, name + extension)
        if os.path.exists(path):
          os.remove(path)
          removed.append(path)
  kept = {os.path.realpath(p) for p in figures_kept}
  for folder, _, names in os.walk(os.path.join(output_dir, "figures")):
    for name in names:
      path = os.path.join(folder, name)
      # models_scatter.png is drawn by the report from this run's models table.
      if name.endswith(".png") and name != "models_scatter.png" \
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
                 run_info: Optional[Mapping[str, Any]] = None) -> MarkdownTables:
  """Writes every table of the analysis and results.json; returns their Markdown."""
  options = analysis.options
  output_dir = options.output_dir
  models = analysis.rows("models")
  metric_names = [column for _, _, column in metric_runs.metric_columns(options.metrics)]
  # A zoo of several datasets shows each model's dataset (one analysis per dataset).
  dataset_column = ["dataset"] if len(analysis.datasets) > 1 else []
  # ... and each model's source when a zoo mixes SavedModels, ONNX encoders and bundles.
  source_column = ["source"] if len({row.get("source") for row in models}) > 1 else []
  short_model_columns = (["model"] + dataset_column + source_column + ["method", "value", "seed"]
                         + metric_names
                         + ["info_total_bits", "active_channels", "best_factor_per_channel"])
  result = MarkdownTables(
      models=_write(output_dir, "models", models, rows_lib.model_columns(options.metrics),
                    short_model_columns),
      hotspots=_write(output_dir, "hotspots", analysis.rows("hotspots"), rows_lib.HOTSPOT_COLUMNS,
                      rows_lib.HOTSPOT_COLUMNS[:-1]))
  if options.per_hyperparameter:
    result.groups = _write(output_dir, "groups", analysis.rows("groups"),
                           groups_lib.GROUP_COLUMNS, groups_lib.GROUP_COLUMNS)
  if options.spaces:
    result.spaces = _write(output_dir, "spaces", analysis.rows("spaces"),
                           spaces_lib.SPACE_COLUMNS + spaces_lib.factor_columns(
                               analysis.factor_names), SPACE_SUMMARY_COLUMNS)
  if options.model_similarity:
    result.model_similarity = _write(output_dir, "model_similarity",
                                     analysis.rows("model_similarity"),
                                     whole_spaces.SIMILARITY_COLUMNS,
                                     whole_spaces.SIMILARITY_COLUMNS)
  if options.fusion:
    result.fusion = _write(output_dir, "fusion", analysis.rows("fusion"),
                           fusion_runs.FUSION_COLUMNS, fusion_runs.FUSION_COLUMNS)
  remove_stale_outputs(output_dir, tables_written(options), _figures_of(analysis))
  io.write_json_atomic(os.path.join(output_dir, "results.json"),
                       results_document(analysis, run_info))
  return result


def summary_text(analysis: pipeline.ZooAnalysis, markdown: MarkdownTables) -> str:
  """What the command prints: the tables, with headings, and the main figure per dataset."""
  parts = ["## Models", markdown.models, "## Hotspots",
           markdown.hotspots if analysis.rows("hotspots") else "(no hotspots found)"]
  if markdown.groups is not None:
    parts += [f"## Groups (hotspots on the {structure_lib.HOTSPOT_DISTANCE.upper()} distance)",
              markdown.groups]
  if markdown.fusion is not None:
    parts += ["## Fusion", markdown.fusion]
  if markdown.spaces is not None:
    parts += ["## Whole spaces (Monte Carlo, ± standard error)", markdown.spaces]
  if markdown.model_similarity is not None:
    parts += ["## Model-pair similarity (Monte Carlo)", markdown.model_similarity]
  figures = [f"figure: {path}" for d in analysis.datasets.values() for path in d.figures
             if "structure_all_nmi" in path]
  return "\n\n".join([""] + parts + figures)
