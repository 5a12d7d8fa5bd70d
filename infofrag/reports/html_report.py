"""One self-contained, browsable `report.html` per ensemble evaluation.

The page is built from what the evaluation wrote to its output folder (`results.json`,
the CSV tables, the PNG figures) and rendered with Jinja2 from the template shipped in
`infofrag/reports/templates/`. CSS and JavaScript are inline and every image is embedded
as a `data:` URI, so the single file can be mailed, opens offline and fetches nothing.
"""

from __future__ import annotations

import base64
import csv
import datetime
import importlib.metadata
import json
import math
import os
import platform
import shlex
import sys
import time
from typing import Any, Mapping, Sequence

import infofrag
from infofrag.fragments.chance import CHANCE_MARK
from infofrag.reports import model_scatter
from infofrag.utils import io
from infofrag.utils import layout

TEMPLATE_NAME = "report.html.j2"
TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

# Distributions whose versions the run summary lists (pip names).
LIBRARIES = ("infofrag", "tensorflow", "tf-keras", "tensorflow-probability", "numpy", "scipy",
             "scikit-learn", "matplotlib", "pandas", "gin-config", "Jinja2")
# Models-table columns that hold one value per channel (long; shown compactly).
PER_CHANNEL_COLUMNS = ("info_bits_per_channel", "best_factor_per_channel", "hotspot_per_channel",
                       "best_factor_chance_per_channel")


def _version(distribution: str) -> str:
  if distribution == "infofrag":  # the code that ran, installed or not
    return infofrag.__version__
  try:
    return importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return "not installed"


def collect_run_info(argv: Sequence[str], started_at: float) -> dict[str, Any]:
  """What the run summary shows about how and when the run was made.

  Parameters
  ----------
  argv : sequence of str
      The command line, program name first (e.g. ``["infofrag_evaluate", "--zoo=z"]``).
  started_at : float
      `time.time()` when the run started; the wall clock runs until this call.

  Returns
  -------
  dict with ``command_line`` (shell-quoted), ``started_at`` / ``finished_at`` (local ISO
  times), ``wall_clock_seconds``, ``python``, ``platform`` and ``versions``
  ({distribution: version}).
  """
  finished = time.time()
  stamp = lambda t: datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")
  return {
      "command_line": shlex.join([str(a) for a in argv]),
      "started_at": stamp(started_at),
      "finished_at": stamp(finished),
      "wall_clock_seconds": max(0.0, finished - started_at),
      "python": sys.version.split()[0],
      "platform": platform.platform(),
      "versions": {name: _version(name) for name in LIBRARIES},
  }


def _data_uri(path: str) -> str:
  with open(path, "rb") as f:
    return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def _read_csv(path: str) -> dict[str, Any] | None:
  """{"columns": [...], "rows": [[str]]} of a CSV table, or None if the file is absent."""
  if not os.path.exists(path):
    return None
  with open(path, newline="") as f:
    reader = csv.reader(f)
    columns = next(reader, [])
    rows = [row for row in reader]
  return {"columns": columns, "rows": rows}


def _short(part: str) -> str:
  try:
    return f"{float(part):.2f}"
  except ValueError:
    return part


def _cell(text: str, column: str) -> dict[str, Any]:
  """A table cell: the text shown, its full text, and a numeric sort key when it is a number."""
  try:
    number = float(text)
  except ValueError:
    number = None
  if number is not None and not math.isfinite(number):
    number = None
  shown = text
  if number is not None and column not in ("model", "seed", "hotspot") and "." in text:
    shown = f"{number:.4g}" if abs(number) < 1e5 else f"{number:.6g}"
  if column == "info_bits_per_channel":  # "2.424000 0.001000 ...": two decimals each
    shown = " ".join(_short(part) for part in text.split())
  if column in PER_CHANNEL_COLUMNS and len(shown) > 60:
    shown = shown[:57] + "..."
  cell = {"text": shown, "full": text, "sort": number}
  if column in PER_CHANNEL_COLUMNS and CHANCE_MARK in shown:
    # Each channel's entry on its own, those not above chance shaded like other cells.
    cell["parts"] = [{"text": part, "chance": part.endswith(CHANCE_MARK)}
                     for part in shown.split(" ")]
  return cell


def _folded_cell(values: Mapping[str, str], column: str) -> dict[str, Any]:
  """The cell of `column` with its interval (``<column>_low/_high``) appended to the text
  and ``chance`` set when the value is not above ``<column>_chance``."""
  cell = _cell(values.get(column, ""), column)
  low, high = values.get(f"{column}_low", ""), values.get(f"{column}_high", "")
  if cell["sort"] is not None and low != "" and high != "":
    cell["text"] += f" [{_cell(low, column)['text']}, {_cell(high, column)['text']}]"
    cell["full"] = f"{cell['full']}, 95% interval [{low}, {high}]"
  level = _cell(values.get(f"{column}_chance", ""), column)["sort"]
  cell["chance"] = cell["sort"] is not None and level is not None and cell["sort"] <= level
  if cell["chance"]:
    cell["full"] = f"{cell['full']}; not above chance ({values[f'{column}_chance']})"
  return cell


def _table(table: dict[str, Any] | None, table_id: str, title: str,
           caption: str | None = None) -> dict[str, Any] | None:
  """A table of the page: ``<c>_low``, ``<c>_high`` and ``<c>_chance`` columns are folded
  into the cell of ``c`` (``value [low, high]``, shaded when not above chance)."""
  if table is None:
    return None
  columns = table["columns"]
  present = set(columns)
  folded = {f"{c}{suffix}" for c in columns for suffix in ("_low", "_high", "_chance")
            if f"{c}_low" in present or f"{c}_chance" in present} & present
  shown = [c for c in columns if c not in folded]
  rows = [[_folded_cell(dict(zip(columns, row)), column) for column in shown]
          for row in table["rows"]]
  numeric = [all(r[i]["sort"] is not None for r in rows if r[i]["full"] != "") and
             any(r[i]["full"] != "" for r in rows) for i in range(len(shown))]
  return {"id": table_id, "title": title, "columns": shown, "numeric": numeric, "rows": rows,
          "caption": caption}


def _not_above(value: Any, level: Any) -> bool:
  """True when a value is at or below its chance level (both numbers)."""
  return (isinstance(value, (int, float)) and isinstance(level, (int, float))
          and math.isfinite(value) and math.isfinite(level) and value <= level)


def _hotspot_cards(results: Mapping[str, Any], traversals: Mapping[str, dict[tuple, str]],
                   ) -> list[dict[str, Any]]:
  """One card per hotspot row of results.json (the rows of hotspots.csv), in order."""
  cards = []
  for row in results.get("hotspots", []):
    dataset = row["dataset"]
    members = str(row.get("members", "")).split()
    representative = row.get("representative")
    strips = traversals.get(dataset, {})
    strip, strip_channel = None, None
    candidates = ([representative] if representative else []) + members
    for member in candidates:  # The representative's strip, else any member's.
      model, _, channel = member.rpartition(":")
      if (layout.slug(model), channel) in strips:
        strip, strip_channel = strips[(layout.slug(model), channel)], member
        break
    factor_nmi = row.get("factor_nmi") or {}
    if not factor_nmi and row.get("best_factor") is not None:
      factor_nmi = {row["best_factor"]: row.get("best_factor_nmi")}
    chance = row.get("factor_nmi_chance") or {}
    bars = [{"name": name, "value": value, "percent": max(0.0, min(1.0, value or 0.0)) * 100,
             "best": name == row.get("best_factor"), "chance": chance.get(name),
             "below_chance": _not_above(value, chance.get(name))}
            for name, value in factor_nmi.items()]
    cards.append({
        "dataset": dataset, "group": row["group"], "distance": row["distance"],
        "label": row["hotspot"], "size": row["size"], "models_covered": row["models_covered"],
        "mean_nmi": row.get("mean_nmi"), "information_bits": row.get("information_bits"),
        "mean_nmi_chance": row.get("mean_nmi_chance"), "stability": row.get("stability"),
        "mean_nmi_below_chance": _not_above(row.get("mean_nmi"), row.get("mean_nmi_chance")),
        "best_below_chance": _not_above(row.get("best_factor_nmi"),
                                        row.get("best_factor_nmi_chance")),
        "best_factor": row.get("best_factor"), "best_factor_nmi": row.get("best_factor_nmi"),
        "members": members, "representative": representative, "bars": bars,
        "strip": strip, "strip_channel": strip_channel,
        "models": sorted({m.rpartition(":")[0] for m in members},
                         key=lambda m: (len(m), m))})
  return cards


def _dataset_sections(results: Mapping[str, Any], output_dir: str, metric_columns: Sequence[str],
                      ) -> (list[dict[str, Any]], dict[str, dict[tuple, str]]):
  """Per dataset: its sample, structure figures per group, other figures and the scatter;
  and {dataset: {(model, channel): traversal data URI}}."""
  sections, traversals = [], {}
  for dataset, extra in sorted(results.get("datasets", {}).items()):
    structures = extra.get("structures", {})
    groups = list(next(iter(structures.values()), {}).keys()) if structures else []
    by_slug = {layout.slug(g): g for g in groups}
    figures: dict[str, dict[str, str]] = {}
    strips: dict[tuple, str] = {}
    for recorded in extra.get("figures", []):
      path = layout.figure_path(output_dir, dataset, recorded)
      if not os.path.exists(path):
        continue
      name = os.path.basename(path)
      structure_match = layout.STRUCTURE_FIGURE.match(name)
      traversal_match = layout.TRAVERSAL_FIGURE.match(name)
      if structure_match:
        group = by_slug.get(structure_match["slug"], structure_match["slug"])
        figures.setdefault(group, {})[structure_match["display"]] = _data_uri(path)
      elif traversal_match:
        strips[(traversal_match["model"], traversal_match["channel"])] = _data_uri(path)
    traversals[dataset] = strips
    extra_figures = []
    similarity = extra.get("model_similarity_figure")
    if similarity and os.path.exists(layout.figure_path(output_dir, dataset, similarity)):
      extra_figures.append({"title": "Model-pair similarity (Monte Carlo NMI of whole spaces)",
                            "src": _data_uri(layout.figure_path(output_dir, dataset, similarity))})
    models = [m for m in results.get("models", []) if m.get("dataset") == dataset]
    scatter = None
    if models:
      y_column = model_scatter.choose_y_metric(models, metric_columns)
      path = layout.figure_path(output_dir, dataset, layout.MODELS_SCATTER_FIGURE)
      try:
        _, summary = model_scatter.plot_metric_scatter(
            models, path, y_column=y_column,
            title=f"{dataset}: {y_column} against the fraction of channels in hotspots")
        scatter = {"src": _data_uri(path), **summary}
      except ValueError as error:
        scatter = {"error": str(error)}
    sections.append({
        "name": dataset, "factor_names": extra.get("factor_names", []),
        "models": len(models), "sample_points": extra.get("fingerprint_size"),
        "sample_seed": extra.get("fingerprint_seed"),
        "stage_seconds": extra.get("stage_seconds", {}),
        "embedded_models": extra.get("embedded_models"),
        "cached_embeddings": extra.get("cached_embeddings"),
        "structure_figures": [{"group": g, "nmi": f.get("nmi"), "vi": f.get("vi")}
                              for g, f in sorted(figures.items(),
                                                 key=lambda kv: (kv[0] != "all", groups.index(kv[0])
                                                                 if kv[0] in groups else 0))],
        "extra_figures": extra_figures, "scatter": scatter,
        "udr": [{"group": group, "models": m["models"], "lasso": m.get("lasso"),
                 "spearman": m.get("spearman")}
                for group, m in extra.get("udr", {}).items()]})
  return sections, traversals


VISUALIZATIONS_FOLDER = "visualizations"


def _visualization_links(models: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
  """A link per model whose folder holds dlib's ``visualizations/`` (infofrag_visualize_model
  or dlib_reproduce output): {"model", "path", "href" (file URI)}, in the models' order."""
  import pathlib
  links = []
  for model in models:
    folder = model.get("model_dir")
    path = os.path.join(str(folder), VISUALIZATIONS_FOLDER) if folder else None
    if path and os.path.isdir(path):
      links.append({"model": str(model.get("model", os.path.basename(str(folder)))),
                    "path": path, "href": pathlib.Path(os.path.abspath(path)).as_uri()})
  return links


def _metric_columns(columns: Sequence[str]) -> list[str]:
  """The standard-metric columns of models.csv: those between "seed" and "metrics_by"."""
  if "seed" in columns and "metrics_by" in columns:
    return list(columns[columns.index("seed") + 1:columns.index("metrics_by")])
  return []


def build_context(output_dir: str, run_info: Mapping[str, Any]) -> dict[str, Any]:
  """Everything the template shows, read from the evaluation's output folder.

  Parameters
  ----------
  output_dir : str
      The `--output_dir` of an ensemble evaluation (holds results.json and the tables).
  run_info : mapping
      From `collect_run_info`.

  Returns
  -------
  dict passed to the template.

  Raises
  ------
  FileNotFoundError
      If `output_dir/results.json` is missing.
  """
  results_path = layout.results_path(output_dir)
  if not os.path.exists(results_path):
    raise FileNotFoundError(f"{results_path}: no results.json; run infofrag_evaluate "
                            "--output_dir there first.")
  with open(results_path) as f:
    results = json.load(f)
  settings = results.get("settings", {})
  # Only the tables this run wrote (results.json lists them); an older results.json
  # without the list is read as before.
  written = set(results.get("tables", ["models", "hotspots", "groups", "spaces",
                                       "model_similarity", "fusion",
                                       "metrics_by_hyperparameter", "selection"]))
  read = lambda name: _read_csv(layout.table_path(output_dir, name)) if name in written \
      else None
  models_table = read("models")
  metric_names = _metric_columns(models_table["columns"]) if models_table else []
  sections, traversals = _dataset_sections(results, output_dir, metric_names)
  captions = results.get("captions", {})
  tables = [t for t in (
      _table(models_table, "models", "Models", captions.get("models")),
      _table(read("groups"), "groups", "Per-group summary (hotspots on the NMI distance)",
             captions.get("groups")),
      _table(read("metrics_by_hyperparameter"), "metrics_by_hyperparameter",
             "Metrics by hyperparameter value (mean over models)",
             captions.get("metrics_by_hyperparameter")),
      _table(read("selection"), "selection",
             "Model selection (Spearman's rho of unsupervised scores with the metrics)",
             captions.get("selection")),
      _table(read("spaces"), "spaces", "Whole spaces (Monte Carlo, ± standard error)",
             captions.get("spaces")),
      _table(read("model_similarity"), "similarity", "Model-pair similarity"),
      _table(read("fusion"), "fusion", "Fusion"),
      _table(read("hotspots"), "hotspots", "Hotspots (every distance and group)",
             captions.get("hotspots")),
  ) if t is not None]
  cards = _hotspot_cards(results, traversals)
  seeds = sorted({m.get("seed") for m in results.get("models", []) if m.get("seed") is not None},
                 key=lambda s: (str(type(s)), s))
  return {
      "title": f"infofrag report: {os.path.basename(os.path.abspath(output_dir))}",
      "output_dir": os.path.abspath(output_dir),
      "run": dict(run_info), "settings": settings, "datasets": sections,
      "model_count": len(results.get("models", [])), "seeds": seeds,
      "failures": results.get("failures", []), "tables": tables, "cards": cards,
      "duplicates": results.get("duplicates", []),
      "stage_failures": results.get("stage_failures", []),
      "card_distances": sorted({c["distance"] for c in cards}),
      "card_groups": list(dict.fromkeys(c["group"] for c in cards)),
      "visualizations": _visualization_links(results.get("models", [])),
  }


def render(context: Mapping[str, Any]) -> str:
  """The report page (HTML text) of a `build_context` result."""
  import jinja2
  environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
                                   autoescape=True, undefined=jinja2.StrictUndefined,
                                   trim_blocks=True, lstrip_blocks=True)
  environment.filters["num"] = _format_number
  return environment.get_template(TEMPLATE_NAME).render(**context)


def _format_number(value: Any, digits: int = 3) -> str:
  if value is None:
    return "–"
  if isinstance(value, float):
    return f"{value:.{digits}f}" if math.isfinite(value) else "nan"
  return str(value)


def write_report(output_dir: str, *, run_info: Mapping[str, Any]) -> str:
  """Writes `output_dir/report.html` (atomically) from the evaluation's outputs.

  Parameters
  ----------
  output_dir : str
      The folder an ensemble evaluation wrote (results.json, models.csv, hotspots.csv, and
      when present groups.csv, spaces.csv, model_similarity.csv, fusion.csv, figures/).
  run_info : mapping
      How the run was made, from `collect_run_info`.

  Returns
  -------
  str, the path of the written report.

  Raises
  ------
  FileNotFoundError
      If results.json is missing from `output_dir`.
  """
  html = render(build_context(output_dir, run_info))
  path = layout.report_path(output_dir)
  io.write_text_atomic(path, html)
  return path
