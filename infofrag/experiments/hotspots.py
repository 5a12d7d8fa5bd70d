"""Hotspots growing with beta: a composite of the per-beta structure figures.

The ensemble itself is trained and evaluated by the ordinary commands
(`infofrag_train` sweeps, `infofrag_evaluate --per_hyperparameter`); this module only
lays the per-group figures side by side with the per-group summary underneath.
"""

from __future__ import annotations

import csv
import os

from infofrag.reports import figures as figures_lib
from infofrag.utils import layout


def read_groups(analysis_dir: str) -> list[dict[str, str]]:
  """Rows of ANALYSIS/groups.csv, in increasing hyperparameter value."""
  with open(layout.table_path(analysis_dir, "groups")) as f:
    rows = list(csv.DictReader(f))
  return sorted(rows, key=lambda row: float(row["group"].rsplit("=", 1)[-1]))


def structure_figure(analysis_dir: str, row: dict[str, str], display: str = "nmi") -> str:
  """Path of a group's structure figure (as written by the evaluation)."""
  return layout.figure_path(analysis_dir, row["dataset"],
                            layout.structure_figure_name(row["group"], display))


def composite_figure(analysis_dir: str, path: str, display: str = "nmi") -> str:
  """One row of per-group structure figures, each titled with its group's summary (PNG)."""
  from matplotlib import image as mpimg
  from matplotlib import pyplot as plt
  rows = [row for row in read_groups(analysis_dir)
          if os.path.exists(structure_figure(analysis_dir, row, display))]
  if not rows:
    raise ValueError(f"{analysis_dir}: no per-group structure figures to compose; run "
                     "infofrag_evaluate with --per_hyperparameter first.")
  fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 4.6), squeeze=False)
  for axis, row in zip(axes[0], rows):
    axis.imshow(mpimg.imread(structure_figure(analysis_dir, row, display)))
    axis.set_axis_off()
    fraction = float(row["fraction_in_hotspots"] or "nan")
    axis.set_title(f"{row['group']}: {row['hotspots']} hotspots, "
                   f"{100 * fraction:.0f}% of channels in them\n"
                   f"active channels/model {float(row['mean_active_channels']):.1f}, "
                   f"hotspot NMI {float(row['mean_hotspot_nmi'] or 'nan'):.2f}", fontsize=8)
  return figures_lib.save_figure(fig, path)
