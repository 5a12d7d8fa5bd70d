"""Where infofrag's own files are: the shipped gin configs."""

from __future__ import annotations

import os
import sys

import infofrag


def gin_config_dir() -> str:
  """Folder of the shipped gin configs (repo checkout or installed share/ copy)."""
  candidates = [
      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(infofrag.__file__))), "gin_configs"),
      os.path.join(sys.prefix, "share", "infofrag", "gin_configs"),
  ]
  for candidate in candidates:
    if os.path.isdir(candidate):
      return candidate
  raise FileNotFoundError(
      "infofrag's gin_configs folder was not found (looked in "
      f"{', '.join(candidates)}); install infofrag from its source tree with pip install -e .")


def gin_config_path(*parts: str) -> str:
  """Path of a shipped gin config, e.g. gin_config_path('evaluate', 'mig.gin')."""
  path = os.path.join(gin_config_dir(), *parts)
  if not os.path.exists(path):
    raise FileNotFoundError(f"Shipped gin config not found: {path}")
  return path
