"""infofrag.utils."""

from __future__ import annotations

