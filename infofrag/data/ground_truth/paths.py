"""Where real datasets live: `$DISENTANGLEMENT_LIB_DATA`, in dlib's own layout."""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
from typing import Iterator

ENV_VAR = "DISENTANGLEMENT_LIB_DATA"


class DatasetFileNotFoundError(FileNotFoundError):
  """A dataset file is missing; the message says which, where and how to get it."""


class DatasetFileError(ValueError):
  """A dataset file exists but cannot be read: truncated or damaged."""


# What reading a damaged archive, HDF5 or binary file raises (numpy, zipfile, scipy, struct).
_DAMAGED_FILE_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError,
                        struct.error)


@contextlib.contextmanager
def reading(path: str, *, dataset: str) -> Iterator[None]:
  """Turns any error of reading `path` into one `DatasetFileError` line naming the file.

  Raises
  ------
  DatasetFileError
      "Dataset 'D': cannot read PATH (why); it is damaged or truncated: download it again."
  """
  try:
    yield
  except (DatasetFileError, DatasetFileNotFoundError):
    raise
  except _DAMAGED_FILE_ERRORS as error:
    why = (str(error).strip().splitlines() or [""])[0]
    raise DatasetFileError(f"Dataset '{dataset}': cannot read {path} ({type(error).__name__}: "
                           f"{why}); the file is damaged or truncated: download it again.") from None


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
