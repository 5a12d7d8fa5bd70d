"""Small file helpers: atomic writes so a crash never leaves a half-written file, JSON of
numpy values, and caches that set a damaged file aside instead of failing every rerun."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import zipfile
from typing import Any, Iterable, Iterator, Mapping

import numpy as np


def current_umask() -> int:
  """The process's file-creation mask (read without changing it where /proc allows)."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("Umask:"):
          return int(line.split()[1], 8)
  except OSError:
    pass
  mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
  os.umask(mask)
  return mask


def follow_umask(path: str, directory: bool = False) -> None:
  """Gives a file made by `tempfile` (mode 0600 / 0700) the mode a plain `open` or
  `os.makedirs` would have given it: 0666 / 0777 less the umask."""
  os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
  """Yields a temporary path next to `path`; renames it to `path` on success.

  The temporary file keeps `path`'s extension so writers that infer the format
  from it (matplotlib, numpy) behave. On error the temporary file is removed.
  """
  path = os.fspath(path)
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  base, ext = os.path.splitext(os.path.basename(path))
  fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=folder)
  os.close(fd)
  try:
    yield tmp
    follow_umask(tmp)
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


def write_text_atomic(path: str, text: str) -> None:
  """Writes `text` to `path` atomically."""
  with atomic_path(path) as tmp:
    with open(tmp, "w") as f:
      f.write(text)


def write_json_atomic(path: str, obj: Any, **kwargs: Any) -> None:
  """Writes `obj` as indented JSON to `path` atomically (numpy values converted, see
  `to_json_compatible`)."""
  kwargs.setdefault("indent", 2)
  write_text_atomic(path, json.dumps(to_json_compatible(obj), **kwargs) + "\n")


def to_json_compatible(value: Any, *, nan_as_none: bool = True) -> Any:
  """`value` with numpy scalars and arrays turned into Python numbers and lists, tuples into
  lists and keys into strings.

  Non-finite floats become None (strict JSON has no NaN) unless `nan_as_none` is False, as
  for dlib's result files, which keep Python's NaN literal.
  """
  if isinstance(value, Mapping):
    return {str(k): to_json_compatible(v, nan_as_none=nan_as_none) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_json_compatible(v, nan_as_none=nan_as_none) for v in value]
  if isinstance(value, np.ndarray):
    return to_json_compatible(value.tolist(), nan_as_none=nan_as_none)
  if isinstance(value, (np.bool_, bool)):
    return bool(value)
  if isinstance(value, (np.floating, float)):
    return float(value) if np.isfinite(value) or not nan_as_none else None
  if isinstance(value, np.integer):
    return int(value)
  return value


def load_npz_or_set_aside(path: str, names: Iterable[str]) -> dict[str, np.ndarray] | None:
  """{name: array} of a cached ``.npz`` file; None when the file is absent.

  A damaged file (truncated, not a zip, missing one of `names`) is renamed to
  ``<path>.corrupt`` with a warning on stderr, and None is returned so that the caller
  recomputes it: a bad cache never fails every rerun.
  """
  if not os.path.exists(path):
    return None
  try:
    with np.load(path) as stored:
      return {name: stored[name] for name in names}
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
    os.replace(path, path + ".corrupt")
    print(f"warning: cache {path} is damaged ({error}); set aside as {path}.corrupt and "
          "recomputed.", file=sys.stderr, flush=True)
    return None
