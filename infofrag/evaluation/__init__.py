"""infofrag.evaluation: dlib's per-model metric protocol (representation functions, metric
runs and their results folders)."""

from __future__ import annotations

