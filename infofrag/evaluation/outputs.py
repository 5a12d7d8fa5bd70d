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
      "settings": analysis.options.settings}
  if run_info is not None:
    document["run"] = dict(run_info)
  return document


def write_tables(analysis: pipeline.ZooAnalysis,
                 run_info: Optional[Mapping[str, Any]] = None) -> MarkdownTables:
  """Writes every table of the analysis and results.json; returns their Markdown."""
  options = analysis.options
  output_dir = options.output_dir
  models = analysis.rows("models")
  metric_names = [column for _, _, column in metric_runs.metric_columns(options.metrics)]
  short_model_columns = (["model", "method", "value", "seed"] + metric_names
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
