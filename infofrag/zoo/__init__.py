"""infofrag.zoo."""

from __future__ import annotations

