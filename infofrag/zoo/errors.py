"""The error every model reader raises for a model folder it cannot use."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
  """A model directory cannot be used; the message names the directory (or file) and the fix."""
