"""Selects a ground-truth dataset by name (gin binding `dataset.name`).

The module path and function name mirror disentanglement_lib's
`data/ground_truth/named_data.py`, so gin files written for dlib work unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import importlib

import gin

# Registers the gin configurable `circle` now: gin refuses new configurables once a
# config has been parsed (locked), and datasets are otherwise imported on demand.
from infofrag.data.ground_truth import circle

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData

# name -> (module under infofrag.data.ground_truth, class name, constructor kwargs)
_DATASETS = {
    "dsprites_full": ("dsprites", "DSprites", {"latent_factor_indices": [1, 2, 3, 4, 5]}),
    "dsprites_noshape": ("dsprites", "DSprites", {"latent_factor_indices": [2, 3, 4, 5]}),
    "color_dsprites": ("dsprites", "ColorDSprites", {"latent_factor_indices": [1, 2, 3, 4, 5]}),
    "noisy_dsprites": ("dsprites", "NoisyDSprites", {"latent_factor_indices": [1, 2, 3, 4, 5]}),
    "scream_dsprites": ("dsprites", "ScreamDSprites", {"latent_factor_indices": [1, 2, 3, 4, 5]}),
    "smallnorb": ("norb", "SmallNORB", {}),
    "cars3d": ("cars3d", "Cars3D", {}),
    "shapes3d": ("shapes3d", "Shapes3D", {}),
    "mpi3d_toy": ("mpi3d", "MPI3D", {"mode": "mpi3d_toy"}),
    "mpi3d_realistic": ("mpi3d", "MPI3D", {"mode": "mpi3d_realistic"}),
    "mpi3d_real": ("mpi3d", "MPI3D", {"mode": "mpi3d_real"}),
    "dummy_data": ("dummy_data", "DummyData", {}),
    "synthetic_dsprites": ("synthetic_dsprites", "SyntheticDSprites", {}),
    "synthetic_dsprites_32": ("synthetic_dsprites", "SyntheticDSprites32", {}),
    "circle": ("circle", "Circle", {}),
}


def dataset_names() -> list[str]:
  """All names accepted by `get_named_ground_truth_data`, sorted."""
  return sorted(_DATASETS)


@gin.configurable("dataset", denylist=[])
def get_named_ground_truth_data(name: str | None = None) -> GroundTruthData:
  """Returns the GroundTruthData object named `name` (gin: `dataset.name`).

  Parameters
  ----------
  name : str | None
    a dataset name; None takes the gin binding `dataset.name`.

  Raises
  ------
  ValueError
    for an unknown name (the message lists the valid ones).
  DatasetFileNotFoundError
    when a real dataset's files are missing.
  """
  if name is None:
    raise ValueError(
        "No dataset chosen: bind `dataset.name` in a gin file or with "
        "--gin_bindings=\"dataset.name='synthetic_dsprites'\" (valid names: "
        f"{', '.join(dataset_names())}).")
  if name not in _DATASETS:
    raise ValueError(
        f"Unknown dataset name {name!r} (gin binding dataset.name). Valid names: "
        f"{', '.join(dataset_names())}.")
  module_name, class_name, kwargs = _DATASETS[name]
  module = importlib.import_module(f"infofrag.data.ground_truth.{module_name}")
  return getattr(module, class_name)(**kwargs)
