"""dlib's postprocess step: a trained Gaussian encoder -> a representation function saved as
a SavedModel with the signature ``representation`` (images -> {"default": codes})."""

from __future__ import annotations

