"""The paper's structure figure: reordered similarity, reachability, factor NMI."""

from __future__ import annotations

import os

from collections.abc import Mapping, Sequence

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


def _check_factor_nmi(structure, factor_nmi, factor_names):
  """[M, F] float64 factor NMI, checked against the structure's channels and the names."""
  factor_nmi = np.asarray(factor_nmi, dtype=np.float64)
  if factor_nmi.ndim != 2 or factor_nmi.shape[0] != len(structure.channel_ids):
    raise ValueError(
        f"factor_nmi must be [M, F] with M = {len(structure.channel_ids)} channels; got {factor_nmi.shape}.")
  if factor_names is not None and len(factor_names) != factor_nmi.shape[1]:
    raise ValueError(f"factor_names has {len(factor_names)} names for {factor_nmi.shape[1]} factors.")
  return factor_nmi


def _model_of(channel_id):
  """The model part of a channel id "<model>:<channel>" (the whole id otherwise)."""
  return str(channel_id).rsplit(":", 1)[0]


# Channel ids are written next to the matrix up to this many channels; beyond, only the
# hotspots' extents are marked.
MAX_LABELLED_CHANNELS = 60


def plot_structure(structure: structure_lib.EnsembleStructure, path: str,
                   factor_nmi: npt.ArrayLike | None = None, factor_names: Sequence[str] | None = None,
                   display: str | None = None, title: str | None = None, dpi: int = 150,
                   hotspot_notes: Mapping[int, str] | None = None) -> str:
  """Writes the structure figure of an ensemble as a PNG (atomically).

  Layout as in the paper: the similarity matrix of the kept channels in OPTICS
  order (NMI, or exp(-VI); colormap magma_r on [0, 1], with its colorbar), each
  hotspot outlined on it; the reachability profile above it with hotspots
  shaded and labelled by their best factor. On the left, one column per
  ground-truth factor (named below it) with each channel's NMI with that factor,
  on the same colour scale (or each channel's information in bits when no
  factors are given), then a column coloured by the model each channel belongs
  to. Channel ids label the rows when there are at most `MAX_LABELLED_CHANNELS`.

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
    Factor names, written under the factor columns; hotspots are annotated with their
    best factor.
  display : {"nmi", "vi"}, optional
    Default: the distance the structure was clustered on.
  title : str, optional
    Figure title.
  dpi : int, optional
    Resolution, dots per inch.
  hotspot_notes : mapping of int to str, optional
    A note per hotspot label (e.g. its stability under resampling), written after its
    name above the reachability profile and beside its box.

  Returns
  -------
  str
    `path`.
  """
  from matplotlib import colors as mcolors
  from matplotlib import gridspec
  from matplotlib import patches
  from matplotlib import pyplot as plt
  display = display or structure.distance
  count = len(structure.ordering)
  if count == 0:
    raise ValueError("No channel carries more than the information threshold; nothing to plot.")
  matrix = _display_matrix(structure, display)
  order = structure.ordering
  if factor_nmi is not None:
    factor_nmi = _check_factor_nmi(structure, factor_nmi, factor_names)
    names = (list(factor_names) if factor_names is not None
             else [f"factor {i}" for i in range(factor_nmi.shape[1])])
  positions = np.arange(count)
  ordered_ids = [structure.channel_ids[i] for i in order]
  models = [_model_of(cid) for cid in ordered_ids]
  model_index = {m: i for i, m in enumerate(dict.fromkeys(models))}

  num_factors = factor_nmi.shape[1] if factor_nmi is not None else 1
  label_rows = count <= MAX_LABELLED_CHANNELS
  fig = plt.figure(figsize=(7.0 + 0.18 * num_factors, 6.2))
  grid = gridspec.GridSpec(2, 4, figure=fig, height_ratios=[1, 6], hspace=0.06, wspace=0.05,
                           width_ratios=[0.45 * num_factors if factor_nmi is not None else 1.5, 0.35, 8,
                                         0.3],
                           left=0.16 if label_rows else 0.09, right=0.9, bottom=0.16, top=0.93)
  top = fig.add_subplot(grid[0, 2])
  reach = _finite_reachability(structure.reachability)
  # The same best factor as the evaluation tables: highest mean NMI over the members.
  best_of_hotspot = {}
  if factor_nmi is not None and factor_names is not None:
    means = structure_lib.hotspot_factor_nmi(structure, factor_nmi)
    best_of_hotspot = {hotspot.label: factor_names[int(np.argmax(row))]
                       for hotspot, row in zip(structure.hotspots, means)}
  spans = []
  for label in np.unique(structure.labels[structure.labels >= 0]):
    members = positions[structure.labels == label]
    spans.append((int(label), members.min(), members.max() + 1))
    top.axvspan(members.min(), members.max() + 1, color="k", alpha=0.2)
    name = f"{label}: {best_of_hotspot[label]}" if label in best_of_hotspot else str(label)
    if hotspot_notes and label in hotspot_notes:
      name += f"\n{hotspot_notes[label]}"
    top.text(0.5 * (members.min() + members.max() + 1), reach.max(), name,
             ha="center", va="top", fontsize=6, zorder=102)
  top.fill_between(positions + 0.5, reach, color="#454a4a", zorder=100, step="mid")
  top.plot(positions + 0.5, reach, lw=1, color="k", zorder=101, drawstyle="steps-mid")
  top.set_xlim(0, count)
  top.set_ylim(0, None)
  top.set_xticks([])
  top.set_ylabel(f"OPTICS\nreachability\n({structure.distance.upper()})", fontsize=6)
  top.tick_params(labelsize=6)

  # Left: each channel against each factor (or its information), named below.
  side_axis = fig.add_subplot(grid[1, 0])
  if factor_nmi is not None:
    side_axis.imshow(factor_nmi[order], aspect="auto", cmap="magma_r", vmin=0, vmax=1,
                            extent=(0, num_factors, count, 0), interpolation="nearest")
    side_axis.set_xticks(np.arange(num_factors) + 0.5, names, rotation=90, fontsize=6)
    side_axis.set_xlabel("NMI with factor", fontsize=7)
  else:
    side_axis.barh(positions + 0.5, structure.information_bits[order], height=1.0, color="#454a4a")
    side_axis.set_ylim(count, 0)
    side_axis.set_xlim(1.05 * max(1.0, float(np.max(structure.information_bits[order]))), 0)
    side_axis.set_xlabel("information (bits)", fontsize=7)
    side_axis.tick_params(axis="x", labelsize=6)
  if label_rows:
    side_axis.set_yticks(positions + 0.5, [str(cid) for cid in ordered_ids], fontsize=5)
    side_axis.set_ylabel("channel (model:index), OPTICS order", fontsize=7)
  else:
    side_axis.set_yticks([])
    side_axis.set_ylabel(f"{count} channels in OPTICS order", fontsize=7)

  # Which model each channel comes from (a categorical colour per model).
  model_axis = fig.add_subplot(grid[1, 1])
  palette = plt.get_cmap("tab20")
  model_axis.imshow(np.array([[model_index[m] % 20] for m in models]), aspect="auto",
                    cmap=mcolors.ListedColormap([palette(i) for i in range(20)]), vmin=-0.5,
                    vmax=19.5, extent=(0, 1, count, 0), interpolation="nearest")
  model_axis.set_xticks([0.5], ["model"], rotation=90, fontsize=6)
  model_axis.set_yticks([])
  for position in range(1, count):  # A thin line where the next channel is another model's.
    if models[position] != models[position - 1]:
      model_axis.axhline(position, color="white", lw=0.4)

  matrix_axis = fig.add_subplot(grid[1, 2])
  image = matrix_axis.imshow(matrix, aspect="auto", origin="upper", cmap="magma_r", vmin=0,
                             vmax=1, extent=(0, count, count, 0), interpolation="nearest")
  for label, low, high in spans:  # Outline each hotspot's block and name it.
    matrix_axis.add_patch(patches.Rectangle((low, low), high - low, high - low, fill=False,
                                            edgecolor="#00a0ff", lw=1.0))
    note = f" {hotspot_notes[label]}" if hotspot_notes and label in hotspot_notes else ""
    matrix_axis.annotate(f"H{label}{note}", (high, low), fontsize=6, color="#0070c0", ha="left",
                         va="bottom")
  matrix_axis.set_yticks([])
  matrix_axis.set_xlabel(f"channels in OPTICS order ({structure.distance.upper()} distance; "
                         f"boxes: hotspots)", fontsize=7)
  matrix_axis.tick_params(labelsize=6)
  colorbar = fig.colorbar(image, cax=fig.add_subplot(grid[1, 3]))
  colorbar.set_label("NMI" if display == "nmi" else "matrix: exp(-VI); factor columns: NMI",
                     fontsize=7)
  colorbar.ax.tick_params(labelsize=6)
  if title:
    fig.suptitle(title, fontsize=9, y=0.985)
  path = os.fspath(path)
  try:
    with io.atomic_path(path) as tmp:
      fig.savefig(tmp, dpi=dpi, format="png")
  finally:
    plt.close(fig)
  return path
