"""The paper's structure figure: reordered similarity, reachability, factor NMI."""

from __future__ import annotations

import os

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from infofrag.fragments import structure as structure_lib
from infofrag.utils import io


def _display_matrix(structure, display):
  """[K, K] similarity in [0, 1] of the kept channels, in OPTICS order."""
  order = structure.ordering
  if display == "nmi":
    matrix = structure.nmi[np.ix_(order, order)]
  elif display == "vi":
    matrix = np.exp(-np.maximum(structure.vi[np.ix_(order, order)], 0.0))
  else:
    raise ValueError(f"display must be 'nmi' or 'vi' (shown as exp(-VI)); got {display!r}.")
  return np.clip(matrix, 0.0, 1.0)


def _finite_reachability(reachability):
  """Replaces the inf that starts each OPTICS component by the largest finite value."""
  finite = reachability[np.isfinite(reachability)]
  ceiling = finite.max() if finite.size else 1.0
  return np.where(np.isfinite(reachability), reachability, ceiling)


def _side_profile(structure, factor_nmi, factor_names):
  """Per ordered channel: NMI with its best factor, and the panel's label."""
  order = structure.ordering
  if factor_nmi is None:
    return structure.information_bits[order], "information (bits)", None
  factor_nmi = np.asarray(factor_nmi, dtype=np.float64)
  if factor_nmi.ndim != 2 or factor_nmi.shape[0] != len(structure.channel_ids):
    raise ValueError(
        f"factor_nmi must be [M, F] with M = {len(structure.channel_ids)} channels; got {factor_nmi.shape}.")
  if factor_names is not None and len(factor_names) != factor_nmi.shape[1]:
    raise ValueError(f"factor_names has {len(factor_names)} names for {factor_nmi.shape[1]} factors.")
  best = factor_nmi[order].max(axis=1)
  best_factor = factor_nmi[order].argmax(axis=1)
  return best, "NMI, best factor", best_factor


def plot_structure(structure: structure_lib.EnsembleStructure, path: str,
                   factor_nmi: npt.ArrayLike | None = None, factor_names: Sequence[str] | None = None,
                   display: str | None = None, title: str | None = None, dpi: int = 150) -> str:
  """Writes the structure figure of an ensemble as a PNG (atomically).

  Layout as in the paper: the similarity matrix of the kept channels in OPTICS
  order (NMI, or exp(-VI); colormap magma_r on [0, 1]); the reachability
  profile above it with hotspots shaded; on the left, each channel's NMI with
  its best-matching ground-truth factor (or its information in bits when no
  factors are given).

  Parameters
  ----------
  structure : EnsembleStructure
    The ensemble structure to draw.
  path : str
    Output .png path.
  factor_nmi : array_like of shape (M, F), optional
    NMI of every channel with every factor
    (e.g. `pairwise_nmi_vi(channels, factor_fingerprints(labels))[0]`).
  factor_names : sequence of F str, optional
    Factor names; hotspots are annotated with their best factor.
  display : {"nmi", "vi"}, optional
    Default: the distance the structure was clustered on.
  title : str, optional
    Figure title.
  dpi : int, optional
    Resolution, dots per inch.

  Returns
  -------
  str
    `path`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import gridspec  # pylint: disable=g-import-not-at-top
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  display = display or structure.distance
  count = len(structure.ordering)
  if count == 0:
    raise ValueError("No channel carries more than the information threshold; nothing to plot.")
  matrix = _display_matrix(structure, display)
  side, side_label, best_factor = _side_profile(structure, factor_nmi, factor_names)
  positions = np.arange(count)

  fig = plt.figure(figsize=(6.0, 5.5))
  grid = gridspec.GridSpec(2, 3, figure=fig, width_ratios=[1, 6, 0.25], height_ratios=[1, 6],
                           hspace=0.08, wspace=0.08)
  top = fig.add_subplot(grid[0, 1])
  reach = _finite_reachability(structure.reachability)
  # The same best factor as the evaluation tables: highest mean NMI over the members.
  best_of_hotspot = {}
  if best_factor is not None and factor_names is not None:
    means = structure_lib.hotspot_factor_nmi(structure, factor_nmi)
    best_of_hotspot = {hotspot.label: factor_names[int(np.argmax(row))]
                       for hotspot, row in zip(structure.hotspots, means)}
  for label in np.unique(structure.labels[structure.labels >= 0]):
    members = positions[structure.labels == label]
    top.axvspan(members.min(), members.max() + 1, color="k", alpha=0.2)
    name = f"{label}: {best_of_hotspot[label]}" if label in best_of_hotspot else str(label)
    top.text(0.5 * (members.min() + members.max() + 1), reach.max(), name,
             ha="center", va="top", fontsize=6, zorder=102)
  top.fill_between(positions + 0.5, reach, color="#454a4a", zorder=100, step="mid")
  top.plot(positions + 0.5, reach, lw=1, color="k", zorder=101, drawstyle="steps-mid")
  top.set_xlim(0, count)
  top.set_ylim(0, None)
  top.set_xticks([])
  top.set_ylabel("reach.", fontsize=7)
  top.tick_params(labelsize=6)

  side_axis = fig.add_subplot(grid[1, 0])
  side_axis.plot(side, positions + 0.5, lw=1.5)
  side_axis.set_ylim(count, 0)
  side_axis.set_xlim(1.05 * max(1.0, float(np.max(side))) if factor_nmi is None else 1.05, 0)
  side_axis.set_yticks([])
  side_axis.set_xlabel(side_label, fontsize=7)
  side_axis.tick_params(labelsize=6)

  matrix_axis = fig.add_subplot(grid[1, 1])
  image = matrix_axis.imshow(matrix, aspect="auto", origin="upper", cmap="magma_r", vmin=0,
                             vmax=1, extent=(0, count, count, 0), interpolation="nearest")
  matrix_axis.set_yticks([])
  matrix_axis.set_xlabel(f"channels in OPTICS order ({structure.distance.upper()} distance)",
                         fontsize=7)
  matrix_axis.tick_params(labelsize=6)
  colorbar = fig.colorbar(image, cax=fig.add_subplot(grid[1, 2]))
  colorbar.set_label("NMI" if display == "nmi" else "exp(-VI)", fontsize=7)
  colorbar.ax.tick_params(labelsize=6)
  if title:
    fig.suptitle(title, fontsize=9)
  path = os.fspath(path)
  try:
    with io.atomic_path(path) as tmp:
      fig.savefig(tmp, dpi=dpi, format="png")
  finally:
    plt.close(fig)
  return path
