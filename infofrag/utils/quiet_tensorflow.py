"""Imports TensorFlow without its C++ start-up noise (unless asked to be verbose).

On a machine without a GPU, TensorFlow's import prints absl and CUDA-stub lines and an
error-level `cuInit` line straight to file descriptor 2, before any Python logging exists.
They say nothing wrong, but bury the program's own output, so the command-line tools import
TensorFlow once through here, with descriptor 2 pointed at /dev/null for the duration of the
import. Errors raised by the import still propagate (after the descriptor is restored).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any


@contextlib.contextmanager
def _descriptor_2_silenced():
  sys.stderr.flush()
  saved = os.dup(2)
  try:
    with open(os.devnull, "w") as devnull:
      os.dup2(devnull.fileno(), 2)
      yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


def import_tensorflow(verbose: bool = False) -> Any:
  """The `tensorflow` module; quiet unless `verbose` (then TF's own settings apply)."""
  if verbose or "tensorflow" in sys.modules:
    import tensorflow as tf
    return tf
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  with _descriptor_2_silenced():
    import tensorflow as tf
  return tf
