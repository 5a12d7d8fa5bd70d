"""Pictures of trained models, as dlib's visualize_model draws them (images and GIFs)."""

from __future__ import annotations

