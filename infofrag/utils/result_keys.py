"""Keys that say exactly which question a saved result answers.

A result (metric JSON, cached embedding, pairwise matrices) is reused only when its stored
key equals the key of the request: same computation and settings, same model weights
(sizes and SHA-256 of the saved model's files, not modification times), same dataset and
sample, same infofrag version. Pure Python.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import infofrag

def make_key(**parts: Any) -> dict:
  """The key of a request: the given parts plus the infofrag version (JSON-able values)."""
  key = dict(parts)
  key["infofrag_version"] = infofrag.__version__
  return json.loads(json.dumps(key, sort_keys=True))


def key_digest(key: Mapping) -> str:
  """Short stable digest of a key (16 hex digits)."""
  return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def changed_parts(stored: Mapping, requested: Mapping) -> list[str]:
  """Names of the parts that differ between two keys, sorted."""
  return sorted(name for name in set(stored) | set(requested)
                if stored.get(name) != requested.get(name))
