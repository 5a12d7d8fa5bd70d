"""Saving matplotlib figures: atomically, then closed (so long runs do not leak figures)."""

from __future__ import annotations

import os
from typing import Any

from infofrag.utils import io


def save_figure(fig: Any, path: str, dpi: int = 150, tight: bool = True) -> str:
  """Writes `fig` as a PNG at `path` (atomic rename) and closes it; returns the path."""
  from matplotlib import pyplot as plt
  path = os.fspath(path)
  try:
    if tight:
      fig.tight_layout()
    with io.atomic_path(path) as tmp:
      fig.savefig(tmp, dpi=dpi, format="png")
  finally:
    plt.close(fig)
  return path
