"""Training into dlib's model folder: ``dlib_train --model_dir=X`` writes ``X/tfhub``.

infofrag's `train.train_with_gin(D)` writes the model folder as ``D/model``; dlib's
``train_with_gin(X)`` writes it as ``X`` itself. `train_model_folder` trains into a
hidden sibling ``.<X>.dlib_train`` (infofrag's D) and renames its ``model`` folder to X,
so X appears only when complete and holds what dlib's does: ``tfhub/``, ``results/``,
``tf_checkpoint/`` and ``logs/``.
"""

from __future__ import annotations

import os
import shutil
from typing import Sequence

from infofrag.training import train
from infofrag.utils import locks
from infofrag.utils import step_folders as folders


def staging_dir(model_folder: str) -> str:
  """The hidden sibling where `train_model_folder` builds ``<staging>/model``."""
  model_folder = os.path.abspath(model_folder)
  return os.path.join(os.path.dirname(model_folder),
                      f".{os.path.basename(model_folder)}.dlib_train")


def train_model_folder(model_folder: str, *, overwrite: bool = False,
                       gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = (),
                       options: train.LoopOptions | None = None) -> dict:
  """dlib's `train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)`.

  Parameters
  ----------
  model_folder : str
      dlib's MODEL_DIR: ``tfhub/``, ``results/``, ``tf_checkpoint/`` and ``logs/`` are
      written directly in it.
  overwrite : bool
      Replace an existing folder (only once the new model is complete).
  gin_config_files, gin_bindings : sequence of str
      As for `train.train_with_gin`.
  options : LoopOptions or None

  Returns
  -------
  dict, the train results (train_results.json).

  Raises
  ------
  train.TrainingError
      An existing folder without `overwrite`, bad gin (one line).
  locks.FolderLockedError
      Another process trains the same folder.
  """
  model_folder = os.path.abspath(model_folder)
  if os.path.exists(model_folder) and not overwrite:
    raise train.TrainingError(f"--model_dir={model_folder} already exists; pass --overwrite to "
                              "replace it or choose another folder.")
  stage = staging_dir(model_folder)
  with locks.exclusive_folder_lock(model_folder, purpose="being trained"):
    try:
      results = train.train_with_gin(stage, overwrite=True, gin_config_files=gin_config_files,
                                     gin_bindings=gin_bindings, options=options)
      folders.replace_folder(os.path.join(stage, "model"), model_folder)
    finally:  # dlib has no resume: nothing of an unfinished run is kept
      shutil.rmtree(stage, ignore_errors=True)
      shutil.rmtree(train.partial_dir(stage), ignore_errors=True)
  return results
