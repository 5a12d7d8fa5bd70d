"""Folders of dlib's workflow: which folder is a step's model, and atomic step outputs.

disentanglement_lib names a trained model by the folder that holds ``tfhub/`` and
``results/`` (``dlib_train --model_dir=X`` writes ``X/tfhub``); infofrag's model
directories hold that folder as ``D/model``. Every step (postprocess, evaluate,
visualize) writes its output folder whole: it is built in a hidden sibling and renamed
into place at the end, so an interrupted step leaves nothing half-written. Pure Python.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

from infofrag.utils import gin_text
from infofrag.utils import io


class WorkflowError(ValueError):
  """A workflow step that cannot run; the one-line message names the flag or file at fault."""


def model_folder(path: str, *, flag: str = "--model_dir") -> str:
  """The dlib model folder (holding ``tfhub/`` and ``results/``) that `path` names.

  Parameters
  ----------
  path : str
      dlib's model folder ``X`` (``X/tfhub``), or infofrag's model directory ``D``
      (``D/model/tfhub``), whose ``D/model`` is returned.
  flag : str
      The flag that gave `path`, for the error message.

  Returns
  -------
  str, the model folder (absolute).

  Raises
  ------
  WorkflowError
      When neither ``path/tfhub`` nor ``path/model/tfhub`` exists.
  """
  path = os.path.abspath(path)
  for candidate in (path, os.path.join(path, "model")):
    if os.path.isdir(os.path.join(candidate, "tfhub")):
      return candidate
  raise WorkflowError(f"{flag}={path}: no trained model there (looked for {path}/tfhub and "
                      f"{path}/model/tfhub); give the folder dlib_train or infofrag_train wrote.")


def step_gin_bindings(results_dir: str, step: str, *, flag: str) -> dict[str, str]:
  """{binding: value string} of a previous step's ``results/gin/<step>.gin``.

  Raises
  ------
  WorkflowError
      When the file is missing.
  """
  path = os.path.join(results_dir, "gin", f"{step}.gin")
  if not os.path.isfile(path):
    raise WorkflowError(f"{flag}: {path} is missing; it is written by the {step} step "
                        "(is this the right folder?).")
  with open(path) as f:
    return gin_text.parse_gin_text(f.read())


def recorded_dataset(results_dir: str, step: str, *, flag: str) -> str:
  """The ``dataset.name`` a previous step recorded (dlib's ``dataset.name = "auto"``).

  Parameters
  ----------
  results_dir : str
      The previous step's ``results`` folder.
  step : str
      Its step name: "train" (a model folder) or "postprocess" (a representation).
  flag : str
      The flag that named the folder, for messages.

  Returns
  -------
  str, e.g. "dsprites_full".

  Raises
  ------
  WorkflowError
      When the config is missing or does not name a dataset.
  """
  bindings = step_gin_bindings(results_dir, step, flag=flag)
  value = bindings.get("dataset.name")
  if value is None:
    raise WorkflowError(f"{flag}: {os.path.join(results_dir, 'gin', step + '.gin')} does not "
                        "bind dataset.name; pass --gin_bindings=\"dataset.name='...'\".")
  return str(gin_text.parse_value(value))


def check_output_dir(output_dir: str, *, overwrite: bool, flag: str = "--output_dir") -> None:
  """Refuses an existing output folder unless `overwrite` (dlib's rule), before any work.

  Raises
  ------
  WorkflowError
  """
  if not output_dir:
    raise WorkflowError(f"{flag} is required.")
  if os.path.exists(output_dir) and not overwrite:
    raise WorkflowError(f"{flag}={output_dir} already exists; pass --overwrite to replace it "
                        "or choose another folder.")


@contextlib.contextmanager
def staged_output(output_dir: str, *, overwrite: bool, flag: str = "--output_dir"
                  ) -> Iterator[str]:
  """Yields a hidden sibling folder to fill; on success it replaces `output_dir`.

  Parameters
  ----------
  output_dir : str
      The step's output folder. It must not exist unless `overwrite`.
  overwrite : bool
      Replace an existing `output_dir` (only once the new one is complete).
  flag : str
      The flag that named `output_dir`, for messages.

  Yields
  ------
  str, the temporary folder (created, empty). On an exception it is removed and
  `output_dir` is left as it was.
  """
  check_output_dir(output_dir, overwrite=overwrite, flag=flag)
  output_dir = os.path.abspath(output_dir)
  parent = os.path.dirname(output_dir)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(output_dir)}.", suffix=".partial",
                         dir=parent)
  io.follow_umask(tmp, directory=True)
  try:
    yield tmp
    replace_folder(tmp, output_dir)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise


def replace_folder(source: str, target: str) -> None:
  """Renames `source` to `target`, replacing an existing `target` only after the rename
  can no longer fail half-way (the old folder is moved aside, then deleted)."""
  old = None
  if os.path.exists(target):
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.", suffix=".old",
                           dir=os.path.dirname(target))
    os.rmdir(old)
    os.rename(target, old)
  try:
    os.rename(source, target)
  except BaseException:
    if old is not None:
      os.rename(old, target)
    raise
  if old is not None:
    shutil.rmtree(old, ignore_errors=True)
