"""The models of one run: found, read once, grouped by dataset, and loaded at most once.

Each model's training config is read here, once (`read_models`); every later stage works
on the resulting `ModelInfo`. Saved models are loaded lazily through one `ModelLoader`, so
embedding, metrics and figures share one load per model.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from typing import Sequence

from infofrag.zoo import model_info
from infofrag.zoo import saved_model


@dataclasses.dataclass(frozen=True)
class ModelFailure:
  """A model that could not be analysed, and why (one line)."""
  model_dir: str
  reason: str


@dataclasses.dataclass(frozen=True)
class DuplicateModel:
  """A model left out of the analysis because it repeats another one.

  Attributes
  ----------
  model_dir, name : str
      The left-out model.
  duplicate_of : str
      The display name of the model that is analysed in its place.
  reason : str
      "same folder" (given twice) or "identical posteriors" (identical weights, e.g. a
      copied folder or a repeated seed).
  """
  model_dir: str
  name: str
  duplicate_of: str
  reason: str


# OSErrors that say the machine, not a model, is at fault: the run stops with one line.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EFBIG, errno.EDQUOT})


def is_environment_error(error: BaseException) -> bool:
  """True for a full disk, read-only file system or file-size limit (not one model's fault)."""
  return isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS


def first_line(error: BaseException) -> str:
  """The first line of an error's message (gin and TensorFlow append context lines)."""
  lines = str(error).strip().splitlines()
  return lines[0] if lines else type(error).__name__


def failed_trainings(zoo: str | None) -> list[ModelFailure]:
  """Models of a sweep's zoo whose training failed, from ``ZOO/sweep.json``.

  A failed training leaves no model folder (or only a hidden partial one), so without this
  the zoo's analysis would not know it is missing a model.
  """
  if zoo is None:
    return []
  path = os.path.join(zoo, "sweep.json")
  try:
    with open(path) as f:
      entries = json.load(f)
  except (OSError, ValueError):
    return []
  failures = []
  for entry in entries if isinstance(entries, list) else []:
    status = entry.get("status") if isinstance(entry, dict) else None
    if status is not None and status not in ("trained", "skipped"):
      model_dir = os.path.abspath(os.path.join(zoo, str(entry.get("model_num"))))
      if model_info.model_source(model_dir) is not None:  # trained since, by another run
        continue
      failures.append(ModelFailure(model_dir, "training failed: " + (str(status).strip().splitlines() or ["?"])[0]))
  return failures


def display_names(model_dirs: Sequence[str]) -> list[str]:
  """A short, unique name for each model folder: its name, lengthened where names clash.

  dlib's zoos are all numbered 0..N, so two zoos side by side repeat every name; a clash is
  resolved with the shortest tail of the resolved path that tells the folders apart
  (``zooA/1`` and ``zooB/1``).

  Parameters
  ----------
  model_dirs : sequence of str
      Distinct model folders.

  Returns
  -------
  list of str, one per folder, all different.
  """
  parts = [os.path.realpath(d).strip(os.sep).split(os.sep) for d in model_dirs]
  depth = [1] * len(parts)
  while True:
    names = ["/".join(p[-k:]) for p, k in zip(parts, depth)]
    counts: dict[str, int] = {}
    for name in names:
      counts[name] = counts.get(name, 0) + 1
    clashing = [i for i, name in enumerate(names) if counts[name] > 1 and depth[i] < len(parts[i])]
    if not clashing:
      return names
    for i in clashing:
      depth[i] += 1


def find_models(*, zoo: str | None = None, patterns: Sequence[str] = ()) -> list[str]:
  """Absolute model directories under a zoo root and/or matching glob patterns.

  Raises
  ------
  FileNotFoundError
      When `zoo` is not a folder.
  """
  return model_info.find_model_dirs(zoo, list(patterns))


def read_models(model_dirs: Sequence[str], *, dataset_override: str | None = None,
                require_saved_model: bool = True
                ) -> tuple[list[model_info.ModelInfo], list[ModelFailure]]:
  """Reads each model's training config once; each model gets a unique display name.

  A folder given twice (same resolved path) is read once (see `same_folder_duplicates`).

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
  repeated = {d.model_dir for d in same_folder_duplicates(model_dirs)}
  model_dirs = [os.path.abspath(d) for d in model_dirs if d not in repeated]
  for model_dir, name in zip(model_dirs, display_names(model_dirs)):
    try:
      info = model_info.read_model_info(model_dir)
      if require_saved_model and model_info.model_source(model_dir) is None:
        raise model_info.ModelDirError(
            f"{model_dir}: no saved model at {model_info.tfhub_path(model_dir)} (nor an "
            f"{model_info.ONNX_FILE} or {model_info.BUNDLE_FILE}).")
    except model_info.ModelDirError as error:
      failures.append(ModelFailure(model_dir, str(error)))
      continue
    info.name = name
    info.dataset = dataset_override or info.dataset
    if not info.dataset:
      failures.append(ModelFailure(model_dir, "its training config names no dataset; "
                                   "pass --gin_bindings=\"dataset.name='...'\""))
      continue
    infos.append(info)
  return infos, failures


def same_folder_duplicates(model_dirs: Sequence[str]) -> list[DuplicateModel]:
  """The folders given more than once (after resolving links and relative paths)."""
  first: dict[str, str] = {}
  duplicates = []
  for model_dir in model_dirs:
    resolved = os.path.realpath(model_dir)
    if resolved in first:
      duplicates.append(DuplicateModel(model_dir, os.path.basename(resolved), first[resolved],
                                       "same folder"))
    else:
      first[resolved] = model_dir
  return duplicates


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

  def loaded(self, model_dir: str) -> saved_model.LoadedModel | None:
    """The model if it was already loaded, else None (never loads)."""
    return self._models.get(model_dir)
