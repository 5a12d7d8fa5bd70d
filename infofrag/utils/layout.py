"""The output folder of a zoo analysis (`infofrag_evaluate --output_dir=OUT`): every path in it.

::

    OUT/<table>.csv, OUT/<table>.md     the tables (models, hotspots, groups, ...)
    OUT/results.json                    every row, per-dataset details, settings
    OUT/report.html                     the browsable report
    OUT/tensorboard/                    with --tensorboard
    OUT/figures/<dataset>/              structure_<group>_<distance>.png,
                                        hotspot_<label>_traversal_<model>_ch<channel>.png,
                                        model_similarity_nmi.png, models_scatter.png
    OUT/fingerprints/<dataset>_n<size>_seed<seed>.npz    the fingerprint sample
    OUT/cache/<sample>/                 per sample: <model key>.npz (embedding),
                                        means-<model key>.npz, chance-<model key>-p<P>-s<S>.npz,
                                        pairwise-<key>.npz or the folder pairwise-<key>/

Every module that reads or writes these paths builds them here, so a name changes in one
place. Group and model names enter file names through `slug`.
"""

from __future__ import annotations

import os
import re

RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"
TENSORBOARD_NAME = "tensorboard"
MODEL_SIMILARITY_FIGURE = "model_similarity_nmi.png"
MODELS_SCATTER_FIGURE = "models_scatter.png"

# The structure and traversal figure names, read back by the report.
STRUCTURE_FIGURE = re.compile(r"^structure_(?P<slug>.+)_(?P<display>nmi|vi)\.png$")
TRAVERSAL_FIGURE = re.compile(
    r"^hotspot_(?P<label>\d+)_traversal_(?P<model>.+)_ch(?P<channel>\d+)\.png$")


def slug(name: str) -> str:
  """`name` as a file-name part: runs of characters other than word, ".", "=", "-" become "_"."""
  return re.sub(r"[^\w.=-]+", "_", str(name))


def table_path(output_dir: str, name: str, extension: str = ".csv") -> str:
  """``OUT/<name><extension>``, e.g. ``OUT/models.csv``."""
  return os.path.join(output_dir, f"{name}{extension}")


def results_path(output_dir: str) -> str:
  """``OUT/results.json``."""
  return os.path.join(output_dir, RESULTS_NAME)


def report_path(output_dir: str) -> str:
  """``OUT/report.html``."""
  return os.path.join(output_dir, REPORT_NAME)


def tensorboard_dir(output_dir: str) -> str:
  """``OUT/tensorboard``."""
  return os.path.join(output_dir, TENSORBOARD_NAME)


def figures_root(output_dir: str) -> str:
  """``OUT/figures``: every dataset's figure folder is below it."""
  return os.path.join(output_dir, "figures")


def figure_dir(output_dir: str, dataset: str) -> str:
  """``OUT/figures/<dataset>``."""
  return os.path.join(figures_root(output_dir), dataset)


def figure_path(output_dir: str, dataset: str, name: str) -> str:
  """``OUT/figures/<dataset>/<name>``; `name` may be a recorded path (its base name is used)."""
  return os.path.join(figure_dir(output_dir, dataset), os.path.basename(name))


def structure_figure_name(group: str, distance: str) -> str:
  """``structure_<slug(group)>_<distance>.png``."""
  return f"structure_{slug(group)}_{distance}.png"


def traversal_figure_name(label: int, model: str, channel: int) -> str:
  """``hotspot_<label>_traversal_<slug(model)>_ch<channel>.png``."""
  return f"hotspot_{label}_traversal_{slug(model)}_ch{channel}.png"


def sample_path(output_dir: str, dataset: str, size: int, seed: int) -> str:
  """``OUT/fingerprints/<dataset>_n<size>_seed<seed>.npz``; its stem names the cache folder."""
  return os.path.join(output_dir, "fingerprints", f"{dataset}_n{size}_seed{seed}.npz")


def sample_key(path: str) -> str:
  """The file stem of a sample, e.g. ``dsprites_n1000_seed0``."""
  return os.path.splitext(os.path.basename(path))[0]


def cache_dir(output_dir: str, sample_key_: str) -> str:
  """``OUT/cache/<sample key>``: the caches of one fingerprint sample."""
  return os.path.join(output_dir, "cache", sample_key_)


def embedding_cache(folder: str, model_key: str) -> str:
  """``<cache>/<model key>.npz``: a model's embedding and channel statistics."""
  return os.path.join(folder, f"{model_key}.npz")


def means_cache(folder: str, model_key: str) -> str:
  """``<cache>/means-<model key>.npz``: a model's posteriors on the whole-space sample."""
  return os.path.join(folder, f"means-{model_key}.npz")


def chance_cache(folder: str, model_key: str, permutations: int, seed: int) -> str:
  """``<cache>/chance-<model key>-p<permutations>-s<seed>.npz``: channel-factor nulls."""
  return os.path.join(folder, f"chance-{model_key}-p{permutations}-s{seed}.npz")


def pairwise_cache(folder: str, key: str, *, blocked: bool) -> str:
  """``<cache>/pairwise-<key>.npz``, or the folder ``<cache>/pairwise-<key>`` of a blocked run."""
  return os.path.join(folder, f"pairwise-{key}" if blocked else f"pairwise-{key}.npz")
