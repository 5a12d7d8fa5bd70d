"""Small file helpers: atomic writes so a crash never leaves a half-written file."""

import contextlib
import json
import os
import tempfile


def current_umask():
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


def follow_umask(path, directory=False):
  """Gives a file made by `tempfile` (mode 0600 / 0700) the mode a plain `open` or
  `os.makedirs` would have given it: 0666 / 0777 less the umask."""
  os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(path):
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


def write_text_atomic(path, text):
  """Writes `text` to `path` atomically."""
  with atomic_path(path) as tmp:
    with open(tmp, "w") as f:
      f.write(text)


def write_json_atomic(path, obj, **kwargs):
  """Writes `obj` as indented JSON to `path` atomically."""
  kwargs.setdefault("indent", 2)
  write_text_atomic(path, json.dumps(obj, **kwargs) + "\n")
