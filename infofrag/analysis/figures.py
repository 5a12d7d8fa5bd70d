"""Figures of one dataset's analysis: structure matrices per group and latent traversals.

Written under ``OUT/figures/<dataset>/``: ``structure_<group>_<distance>.png`` (each
ordered and shaded by the OPTICS run on its own distance) and one
``hotspot_<label>_traversal_<model>_ch<channel>.png`` per hotspot of the whole ensemble.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping, Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import sample as sample_lib
from infofrag.analysis import structure as structure_lib
from infofrag.reports import dataset_figures
from infofrag.utils import layout
from infofrag.zoo import loading as models_lib
from infofrag.zoo import saved_model


def traversal_strip(model: saved_model.LoadedModel, embedding: embedding_lib.ModelEmbedding,
                    channel: int, path: str, *, steps: int = 10) -> str:
  """Decodes a sweep of one channel (the others at the sample's mean code) to a PNG strip.

  The channel goes from the 2nd to the 98th percentile of its posterior means on the
  sample; images are mapped to [0, 1] by the model's recorded decoder output. Returns
  the path.
  """
  base = embedding.mean.mean(axis=0)
  low, high = np.percentile(embedding.mean[:, channel], [2, 98])
  if high - low < 1e-6:
    low, high = low - 2.0, high + 2.0
  latents = np.repeat(base[None, :], steps, axis=0).astype(np.float32)
  latents[:, channel] = np.linspace(low, high, steps)
  images = model.decode_images(latents)
  return dataset_figures.save_image(path, dataset_figures.image_grid(images, steps))


def structure_figures(dataset: str, structures: structure_lib.Structures,
                      embeddings: Sequence[embedding_lib.ModelEmbedding],
                      sample: sample_lib.FingerprintSample, figure_dir: str,
                      stability: Mapping[tuple[str, str], Mapping[int, float]] | None = None
                      ) -> list[str]:
  """One structure figure per distance and group; returns the paths written.

  `stability` ({(distance, group): {hotspot label: fraction}}) is written beside each
  hotspot's name.
  """
  sizes = {group: members.size for group, members in structure_lib.group_members(
      embeddings, per_hyperparameter=True).items()}
  written = []
  for distance, by_group in structures.items():
    for group, structure in by_group.items():
      path = os.path.join(figure_dir, layout.structure_figure_name(group, distance))
      notes = {label: f"stab. {value:.2f}"
               for label, value in (stability or {}).get((distance, group), {}).items()
               if np.isfinite(value)}
      try:
        fragments.plot_structure(structure, path, display=distance,
                                 factor_nmi=structure_lib.aligned_factor_nmi(embeddings, structure),
                                 factor_names=sample.factor_names, hotspot_notes=notes,
                                 title=f"{dataset}: {group} ({len(structure.kept)} informative "
                                       f"of {sizes.get(group, len(structure.channel_ids))} "
                                       "channels)")
      except ValueError as error:  # e.g. no channel above the information threshold
        print(f"figure {path} skipped: {error}", file=sys.stderr)
        continue
      written.append(path)
  return written


def traversal_figures(structures: structure_lib.Structures,
                      embeddings: Sequence[embedding_lib.ModelEmbedding],
                      loader: models_lib.ModelLoader, figure_dir: str) -> list[str]:
  """A traversal of each whole-ensemble hotspot's most informative channel."""
  structure = structures[structure_lib.HOTSPOT_DISTANCE]["all"]
  by_name = {e.info.name: e for e in embeddings}
  written = []
  for hotspot in structure.hotspots:
    member = structure_lib.representative(hotspot, structure)
    name, channel = member.rsplit(":", 1)
    embedding = by_name[name]
    path = os.path.join(figure_dir, layout.traversal_figure_name(hotspot.label, name, channel))
    try:
      written.append(traversal_strip(loader.load(embedding.info.model_dir), embedding,
                                     int(channel), path))
    except (saved_model.ModelLoadError, OSError, ValueError) as error:
      print(f"traversal for hotspot {hotspot.label} skipped: {str(error).splitlines()[0]}",
            file=sys.stderr)
  return written


def write_figures(dataset: str, structures: structure_lib.Structures,
                  embeddings: Sequence[embedding_lib.ModelEmbedding],
                  sample: sample_lib.FingerprintSample, loader: models_lib.ModelLoader,
                  output_dir: str, stability: Mapping | None = None) -> list[str]:
  """Structure figures (with each hotspot's stability when given), and traversals when the
  data are images; returns the paths."""
  figure_dir = layout.figure_dir(output_dir, dataset)
  written = structure_figures(dataset, structures, embeddings, sample, figure_dir, stability)
  if sample.observations.ndim == 4:  # only image data decode into pictures
    written += traversal_figures(structures, embeddings, loader, figure_dir)
  return written
