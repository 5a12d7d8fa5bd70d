"""Where real datasets live: `$DISENTANGLEMENT_LIB_DATA`, in dlib's own layout."""

from __future__ import annotations

import os

ENV_VAR = "DISENTANGLEMENT_LIB_DATA"


class DatasetFileNotFoundError(FileNotFoundError):
  """A dataset file is missing; the message says which, where and how to get it."""


def data_root() -> str:
  """The folder named by $DISENTANGLEMENT_LIB_DATA (or '.' as dlib defaults)."""
  return os.environ.get(ENV_VAR, ".")


def dataset_path(*relative_parts: str, dataset: str, how_to_obtain: str) -> str:
  """Absolute path of a dataset file or folder; raises a helpful error if missing.

  Parameters
  ----------
  *relative_parts : str
    path below $DISENTANGLEMENT_LIB_DATA, exactly as dlib uses it.
  dataset : str
    the dataset name, for the message.
  how_to_obtain : str
    one sentence telling the user how to get the file.
  """
  root = data_root()
  path = os.path.join(root, *relative_parts)
  if not os.path.exists(path):
    root_note = (f"${ENV_VAR}={os.environ[ENV_VAR]}" if ENV_VAR in os.environ
                 else f"${ENV_VAR} is not set, so the current folder {os.path.abspath(root)} was used")
    raise DatasetFileNotFoundError(
        f"Dataset '{dataset}': file not found: {path} (looked in {os.path.abspath(root)}; "
        f"{root_note}). {how_to_obtain} Place it at "
        f"$DISENTANGLEMENT_LIB_DATA/{'/'.join(relative_parts)}, or use an embedded dataset "
        "('synthetic_dsprites', 'circle', 'dummy_data') that needs no files.")
  return path
