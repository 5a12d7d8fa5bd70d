"""Keys that say exactly which question a saved result answers.

A result (metric JSON, cached embedding, pairwise matrices) is reused only when its stored
key equals the key of the request: same computation and settings, same model weights
(sizes and SHA-256 of the saved model's files, not modification times), same dataset and
sample, same infofrag version. Pure Python.
"""

import hashlib
import json
import os
from typing import Dict, List, Mapping, Tuple

import infofrag

_WEIGHT_DIGESTS: Dict[Tuple, str] = {}


def weights_digest(model_dir: str) -> str:
  """SHA-256 over the relative paths, sizes and contents of every file of the saved model.

  Parameters
  ----------
  model_dir : str
      A model directory holding ``model/tfhub``.

  Returns
  -------
  str, 64 hex digits. Memoised per process on (path, sizes, mtimes), so a model is hashed
  once per run however many results ask.
  """
  from infofrag.zoo import model_info  # pylint: disable=g-import-not-at-top
  root = model_info.tfhub_path(model_dir)
  files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names)
  stats = tuple((path, os.stat(path).st_size, os.stat(path).st_mtime_ns) for path in files)
  memo = (os.path.abspath(root), stats)
  if memo not in _WEIGHT_DIGESTS:
    digest = hashlib.sha256()
    for path, size, _ in stats:
      digest.update(f"{os.path.relpath(path, root)}\0{size}\0".encode())
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
          digest.update(block)
    _WEIGHT_DIGESTS[memo] = digest.hexdigest()
  return _WEIGHT_DIGESTS[memo]


def make_key(**parts) -> Dict:
  """The key of a request: the given parts plus the infofrag version (JSON-able values)."""
  key = dict(parts)
  key["infofrag_version"] = infofrag.__version__
  return json.loads(json.dumps(key, sort_keys=True))


def key_digest(key: Mapping) -> str:
  """Short stable digest of a key (16 hex digits)."""
  return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def changed_parts(stored: Mapping, requested: Mapping) -> List[str]:
  """Names of the parts that differ between two keys, sorted."""
  return sorted(name for name in set(stored) | set(requested)
                if stored.get(name) != requested.get(name))
