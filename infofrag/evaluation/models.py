"""The models of one run: found, read once, grouped by dataset, and loaded at most once.

Each model's training config is read here, once (`read_models`); every later stage works
on the resulting `ModelInfo`. Saved models are loaded lazily through one `ModelLoader`, so
embedding, metrics and figures share one load per model.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

from infofrag.zoo import model_info
from infofrag.zoo import saved_model


@dataclasses.dataclass(frozen=True)
class ModelFailure:
  """A model that could not be analysed, and why (one line)."""
  model_dir: str
  reason: str


def find_models(*, zoo: Optional[str] = None, patterns: Sequence[str] = ()) -> list[str]:
  """Absolute model directories under a zoo root and/or matching glob patterns.

  Raises
  ------
  FileNotFoundError
      When `zoo` is not a folder.
  """
  return model_info.find_model_dirs(zoo, list(patterns))


def read_models(model_dirs: Sequence[str], *, dataset_override: Optional[str] = None,
                require_saved_model: bool = True
                ) -> tuple[list[model_info.ModelInfo], list[ModelFailure]]:
  """Reads each model's training config once.

  Parameters
  ----------
  model_dirs : sequence of str
      Model directories (dlib layout: ``D/model/results/gin/train.gin``, ``D/model/tfhub``).
  dataset_override : str or None
      Dataset to use for every model instead of the one its config names.
  require_saved_model : bool
      Report a model without ``model/tfhub`` as a failure.

  Returns
  -------
  infos : list of ModelInfo
      One per readable model, with ``dataset`` set (override or config).
  failures : list of ModelFailure
      The others, each with a one-line reason.
  """
  infos, failures = [], []
  for model_dir in model_dirs:
    try:
      info = model_info.read_model_info(model_dir)
      if require_saved_model and not os.path.isdir(model_info.tfhub_path(model_dir)):
        raise model_info.ModelDirError(
            f"{model_dir}: no saved model at {model_info.tfhub_path(model_dir)}.")
    except model_info.ModelDirError as error:
      failures.append(ModelFailure(model_dir, str(error)))
      continue
    info.dataset = dataset_override or info.dataset
    if not info.dataset:
      failures.append(ModelFailure(model_dir, "its training config names no dataset; "
                                   "pass --gin_bindings=\"dataset.name='...'\""))
      continue
    infos.append(info)
  return infos, failures


def by_dataset(infos: Sequence[model_info.ModelInfo]) -> dict[str, list[model_info.ModelInfo]]:
  """{dataset: its models, in the given order}, datasets sorted (never mixed in one analysis)."""
  groups: dict[str, list[model_info.ModelInfo]] = {}
  for info in infos:
    groups.setdefault(info.dataset, []).append(info)
  return dict(sorted(groups.items()))


class ModelLoader:
  """Loads each saved model at most once per run (`LoadedModel` knows its decoder output)."""

  def __init__(self) -> None:
    self._models: dict[str, saved_model.LoadedModel] = {}

  def load(self, model_dir: str) -> saved_model.LoadedModel:
    """The loaded model of `model_dir`.

    Raises
    ------
    saved_model.ModelLoadError
        With the model directory in the message.
    """
    if model_dir not in self._models:
      self._models[model_dir] = saved_model.load_model(model_dir)
    return self._models[model_dir]

  def loaded(self, model_dir: str) -> Optional[saved_model.LoadedModel]:
    """The model if it was already loaded, else None (never loads)."""
    return self._models.get(model_dir)
