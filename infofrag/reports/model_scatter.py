"""Metric-vs-metric scatter of a zoo's models, coloured by hyperparameter value (PNG).

The default pairing puts a standard metric (MIG) against the paper's view of the same
models: the fraction of a model's informative channels that lie in hotspots, i.e. whose
information the ensemble finds again in other models.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from infofrag.reports import figures as figures_lib


def hotspot_fraction(hotspot_per_channel: Sequence[int] | None) -> float | None:
  """Fraction of a model's informative channels that lie in a hotspot.

  Parameters
  ----------
  hotspot_per_channel : sequence of int or None
      Per channel: its hotspot label (>= 0), -1 for an informative channel in no hotspot,
      -2 for a channel dropped for low information (`EnsembleStructure.hotspot_labels`).

  Returns
  -------
  float in [0, 1], or None when the model has no informative channel or no labels.
  """
  if not hotspot_per_channel:
    return None
  labels = np.asarray(hotspot_per_channel, dtype=np.int64)
  informative = int(np.sum(labels >= -1))
  return float(np.sum(labels >= 0)) / informative if informative else None


def _number(value: Any) -> float | None:
  if isinstance(value, bool) or value is None:
    return None
  try:
    number = float(value)
  except (TypeError, ValueError):
    return None
  return number if math.isfinite(number) else None


def choose_y_metric(models: Sequence[Mapping[str, Any]], metric_columns: Sequence[str]) -> str:
  """The first of `metric_columns` (MIG first if present) that some model has a value for;
  `info_total_bits` (always computed) otherwise."""
  ordered = sorted(metric_columns, key=lambda c: c != "mig")
  for column in ordered:
    if any(_number(m.get(column)) is not None for m in models):
      return column
  return "info_total_bits"


def plot_metric_scatter(models: Sequence[Mapping[str, Any]], path: str, *, y_column: str,
                        title: str) -> tuple[str, dict[str, Any]]:
  """Writes the scatter of `y_column` against each model's fraction of channels in hotspots.

  Parameters
  ----------
  models : sequence of dict
      Rows of the models table (`results.json` "models"): ``hotspot_per_channel``,
      ``method``, ``hyperparameter``, ``value``, ``model`` and `y_column` are read.
  path : str
      Output .png path (written atomically).
  y_column : str
      Column of the models table on the y axis.
  title : str
      Figure title.

  Returns
  -------
  (path, summary) where summary has ``plotted`` (number of points), ``skipped`` (names of
  models without both values) and the axis names.

  Raises
  ------
  ValueError
      If no model has both values.
  """
  from matplotlib import colors as mcolors
  from matplotlib import pyplot as plt
  points: list[tuple[float, float, Mapping[str, Any]]] = []
  skipped = []
  for model in models:
    x, y = hotspot_fraction(model.get("hotspot_per_channel")), _number(model.get(y_column))
    if x is None or y is None:
      skipped.append(str(model.get("model")))
    else:
      points.append((x, y, model))
  if not points:
    raise ValueError(f"no model has both a {y_column} value and informative channels to plot.")
  values = [p[2].get("value") for p in points]
  numeric = [_number(v) for v in values]
  hyperparameters = sorted({str(p[2].get("hyperparameter")) for p in points
                            if p[2].get("hyperparameter")})
  colour_label = "hyperparameter value" + (f" ({', '.join(hyperparameters)})"
                                           if hyperparameters else "")
  if all(v is not None for v in numeric):
    colour = np.asarray(numeric)
    positive = colour[colour > 0]
    norm = (mcolors.LogNorm(positive.min(), positive.max())
            if positive.size == colour.size and positive.max() >= 10 * positive.min()
            else mcolors.Normalize(colour.min(), colour.max() if colour.max() > colour.min()
                                   else colour.min() + 1))
    ticks = None
    cmap = plt.get_cmap("viridis")
  else:  # Categorical values: one colour each, named on the colorbar.
    categories = sorted({str(v) for v in values})
    colour = np.asarray([categories.index(str(v)) for v in values], dtype=float)
    norm = mcolors.BoundaryNorm(np.arange(len(categories) + 1) - 0.5, len(categories))
    ticks = categories
    cmap = mcolors.ListedColormap([plt.get_cmap("tab10")(i % 10) for i in range(len(categories))])
  methods = sorted({str(p[2].get("method")) for p in points})
  markers = "osD^vP*Xh<>"
  fig, axis = plt.subplots(figsize=(6.4, 4.6))
  mappable = None
  for index, method in enumerate(methods):
    chosen = [i for i, p in enumerate(points) if str(p[2].get("method")) == method]
    mappable = axis.scatter([points[i][0] for i in chosen], [points[i][1] for i in chosen],
                            c=colour[chosen], cmap=cmap, norm=norm, s=46,
                            marker=markers[index % len(markers)], edgecolors="k", linewidths=0.5,
                            label=method)
  for x, y, model in points:
    axis.annotate(str(model.get("model")), (x, y), xytext=(4, 3), textcoords="offset points",
                  fontsize=6, color="#333333")
  colorbar = fig.colorbar(mappable, ax=axis)
  colorbar.set_label(colour_label, fontsize=8)
  if ticks is not None:
    colorbar.set_ticks(np.arange(len(ticks)), labels=ticks)
  if len(methods) > 1:
    axis.legend(title="method (marker)", fontsize=7, title_fontsize=7)
  axis.set_xlabel("fraction of the model's informative channels in hotspots (NMI distance)",
                  fontsize=8)
  axis.set_ylabel(y_column, fontsize=8)
  axis.set_xlim(-0.05, 1.05)
  axis.grid(alpha=0.3)
  axis.set_title(title, fontsize=9)
  figures_lib.save_figure(fig, path)
  return path, {"plotted": len(points), "skipped": skipped, "x": "fraction_in_hotspots",
                "y": y_column}
