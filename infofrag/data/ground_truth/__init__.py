"""Dataset implementations; pick one by name with `infofrag.data.named_data`."""

from __future__ import annotations

