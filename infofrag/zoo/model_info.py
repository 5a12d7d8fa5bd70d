"""What a model directory says about itself: method, hyperparameter, seed, dataset.

Reads `DIR/model/results/json/train_config.json` (a flat {binding: value string} dict,
written by dlib and infofrag alike) or, failing that, the operative gin config
`DIR/model/results/gin/train.gin`. Parsing is textual, so models trained by dlib
(TF1, e.g. `model.model = @vae()`, `vae.beta = 4.`) are read without registering
any gin configurable. Pure Python: no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dataclasses
import glob
import hashlib
import os
import re

from infofrag.utils import gin_text
from infofrag.utils.gin_text import parse_value
from infofrag.zoo import bundle as bundle_lib
from infofrag.zoo import onnx_model

# The hyperparameter the study sweeps for each method (dlib's unsupervised_study_v1).
SWEPT_HYPERPARAMETER = {
    "vae": "vae.beta",
    "annealed_vae": "annealed_vae.c_max",
    "factor_vae": "factor_vae.gamma",
    "dip_vae": "dip_vae.lambda_od",
    "beta_tc_vae": "beta_tc_vae.beta",
}


# dlib's model.name of each method -> the gin configurable of its hyperparameters.
_CONFIGURABLE_OF_LABEL = {"beta_vae": "vae", "annealed_vae": "annealed_vae",
                          "factor_vae": "factor_vae", "dip_vae_i": "dip_vae",
                          "dip_vae_ii": "dip_vae", "beta_tc_vae": "beta_tc_vae"}


class ModelDirError(ValueError):
  """A model directory is missing files or has an unreadable config."""


@dataclasses.dataclass
class ModelInfo:
  """Facts read from one model directory's training config.

  Attributes
  ----------
  model_dir : str
    the directory holding `model/`.
  name : str
    a short identifier (the folder name, e.g. the zoo's model number).
  method : str
    configurable of the model (vae, annealed_vae, factor_vae, dip_vae, beta_tc_vae).
  method_label : str
    dlib's `model.name` when present (beta_vae, dip_vae_i, ...), else method.
  hyperparameter : str
    the swept binding, e.g. "vae.beta" (None when unknown).
  hyperparameter_value : float
    its value (float or None).
  seed : int
    model.random_seed (int or None).
  dataset : str
    dataset.name (str or None).
  num_latent : int
    encoder.num_latent (int or None).
  bindings : dict
    every binding -> parsed Python value (references like "@vae()" stay strings).
  source : str
    where the encoder comes from: "infofrag-tf2", "dlib-tf1", "onnx" or "bundle".
  """
  model_dir: str
  name: str
  method: str
  method_label: str
  hyperparameter: str
  hyperparameter_value: float
  seed: int
  dataset: str
  num_latent: int
  bindings: dict
  source: str = "infofrag-tf2"


def tfhub_path(model_dir: str) -> str:
  """DIR/model/tfhub."""
  return os.path.join(model_dir, "model", "tfhub")


# Files that make a folder a model of each source (the first present decides).
ONNX_FILE = "encoder.onnx"
ONNX_METADATA_FILE = "encoder.json"
BUNDLE_FILE = "embeddings.npz"


def model_source(model_dir: str) -> str | None:
  """What a folder holds: "savedmodel" (infofrag's TF2 or dlib's TF1 Hub module under
  model/tfhub), "onnx" (encoder.onnx), "bundle" (embeddings.npz), or None."""
  if os.path.isdir(tfhub_path(model_dir)):
    return "savedmodel"
  if os.path.isfile(os.path.join(model_dir, ONNX_FILE)):
    return "onnx"
  if os.path.isfile(os.path.join(model_dir, BUNDLE_FILE)):
    return "bundle"
  return None


def source_files(model_dir: str) -> list[str]:
  """The files whose bytes define the model (what `weights_digest` hashes), sorted."""
  source = model_source(model_dir)
  if source == "onnx":
    return [os.path.join(model_dir, name) for name in (ONNX_FILE, ONNX_METADATA_FILE)
            if os.path.exists(os.path.join(model_dir, name))]
  if source == "bundle":
    return [os.path.join(model_dir, BUNDLE_FILE)]
  root = tfhub_path(model_dir)
  return sorted(os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names)


_WEIGHT_DIGESTS: dict[tuple, str] = {}


def weights_digest(model_dir: str) -> str:
  """SHA-256 over the relative paths, sizes and contents of every file of the model.

  Parameters
  ----------
  model_dir : str
      A model directory (``model/tfhub``, ``encoder.onnx`` + ``encoder.json``, or
      ``embeddings.npz``; see `source_files`).

  Returns
  -------
  str, 64 hex digits. Memoised per process on (path, sizes, mtimes), so a model is hashed
  once per run however many results ask.
  """
  root = tfhub_path(model_dir) if model_source(model_dir) in (None, "savedmodel") else model_dir
  files = source_files(model_dir)
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


def read_bindings(model_dir: str) -> dict[str, Any]:
  """{binding: parsed value} from train_config.json, else gin/train.gin.

  Raises
  ------
  ModelDirError
    if neither file exists or they cannot be parsed.
  """
  try:
    raw = gin_text.read_train_config(model_dir)
  except FileNotFoundError as error:
    raise ModelDirError(f"{model_dir}: {error}; is this a disentanglement_lib/infofrag model "
                        "directory?") from None
  except ValueError as error:
    raise ModelDirError(f"{model_dir}: {error}") from error
  return {key: parse_value(value) for key, value in raw.items()}


def _lookup(bindings, name):
  """Value of `name`, also accepting scoped variants ('scope/name')."""
  if name in bindings:
    return bindings[name]
  for key, value in bindings.items():
    if key.endswith("/" + name):
      return value
  return None


def _as_float(value):
  try:
    return float(value)
  except (TypeError, ValueError):
    return None


def _as_int(value):
  try:
    return int(value)
  except (TypeError, ValueError):
    return None


def _info_from_metadata(model_dir: str, metadata: dict[str, Any], source: str) -> ModelInfo:
  """ModelInfo of an ONNX encoder or a bundle from its metadata (the first hyperparameter
  groups the tables)."""
  hyperparameters = dict(metadata.get("hyperparameters") or {})
  name, value = next(iter(hyperparameters.items()), (None, None))
  method = str(metadata.get("method") or "unknown")
  # dlib's model.name labels (beta_vae, ...) name the configurable that holds the swept
  # hyperparameter (vae.beta), so outside models line up with dlib's in every table.
  configurable = _CONFIGURABLE_OF_LABEL.get(method, method)
  bindings = {f"{configurable}.{key}": v for key, v in hyperparameters.items()}
  bindings.update({"model.name": method, "model.random_seed": metadata.get("seed"),
                   "dataset.name": metadata.get("dataset"), "infofrag.source": source,
                   "infofrag.framework": metadata.get("framework")})
  return ModelInfo(model_dir=os.path.abspath(model_dir),
                   name=os.path.basename(os.path.normpath(model_dir)), method=method,
                   method_label=method,
                   hyperparameter=f"{configurable}.{name}" if name else None,
                   hyperparameter_value=_as_float(value) if _as_float(value) is not None else value,
                   seed=_as_int(metadata.get("seed")), dataset=metadata.get("dataset"),
                   num_latent=None, bindings=bindings, source=source)


def read_model_info(model_dir: str) -> ModelInfo:
  """ModelInfo of a model directory (see class docstring).

  A SavedModel's facts come from its training config; an ONNX encoder's from
  ``encoder.json``; a bundle's from its ``metadata``.

  Raises
  ------
  ModelDirError
      One line naming the file at fault.
  """
  source = model_source(model_dir)
  if source in ("onnx", "bundle"):
    try:
      metadata = (onnx_model.read_metadata(model_dir) if source == "onnx"
                  else bundle_lib.read_metadata(os.path.join(model_dir, BUNDLE_FILE)))
    except ValueError as error:
      raise ModelDirError(str(error)) from None
    return _info_from_metadata(model_dir, metadata, source)
  bindings = read_bindings(model_dir)
  model_ref = str(_lookup(bindings, "model.model") or "")
  match = re.match(r"@(?:[\w.]+/)?([\w]+)\(\)", model_ref)
  method = match.group(1) if match else (model_ref or "unknown")
  label = _lookup(bindings, "model.name")
  if not isinstance(label, str) or not label:
    label = method
    if method == "dip_vae" and _lookup(bindings, "dip_vae.dip_type"):
      label = f"dip_vae_{_lookup(bindings, 'dip_vae.dip_type')}"
  hyperparameter = SWEPT_HYPERPARAMETER.get(method)
  value = _as_float(_lookup(bindings, hyperparameter)) if hyperparameter else None
  dataset = _lookup(bindings, "dataset.name")
  return ModelInfo(
      model_dir=os.path.abspath(model_dir),
      name=os.path.basename(os.path.normpath(model_dir)),
      method=method,
      method_label=label,
      hyperparameter=hyperparameter,
      hyperparameter_value=value,
      seed=_as_int(_lookup(bindings, "model.random_seed")),
      dataset=dataset if isinstance(dataset, str) else None,
      num_latent=_as_int(_lookup(bindings, "encoder.num_latent")),
      bindings=bindings,
      source=_savedmodel_kind(model_dir))


def _savedmodel_kind(model_dir: str) -> str:
  """"dlib-tf1" for dlib's TF1 Hub modules, "infofrag-tf2" for infofrag's SavedModels."""
  if os.path.exists(os.path.join(tfhub_path(model_dir), "tfhub_module.pb")):
    return "dlib-tf1"
  return "infofrag-tf2"


def _natural_key(path):
  name = os.path.basename(os.path.normpath(path))
  return (0, int(name), path) if name.isdigit() else (1, 0, path)


def find_model_dirs(zoo: str | None = None, patterns: Sequence[str] = ()) -> list[str]:
  """Model directories under a zoo root (ROOT/<n>/model/tfhub) and/or glob patterns.

  Parameters
  ----------
  zoo : str | None
    a folder whose children are model directories (dlib's zoo layout), or None.
  patterns : Sequence[str]
    model directories or glob patterns matching them.

  Returns
  -------
  list[str]
    Sorted unique absolute paths (numeric folder names in numeric order). Hidden children
    of the zoo (names starting with ".", such as an unfinished training's
    ``.<n>.infofrag_partial``) are not models. A pattern that
    names an existing folder is kept even without model/tfhub, so that the evaluator can
    report it as broken instead of silently dropping it.
  """
  found = []
  if zoo is not None:
    if not os.path.isdir(zoo):
      raise FileNotFoundError(f"--zoo={zoo}: not a folder.")
    for child in os.listdir(zoo):
      if child.startswith("."):  # e.g. an unfinished training's hidden partial folder
        continue
      path = os.path.join(zoo, child)
      if os.path.isdir(os.path.join(path, "model")) or model_source(path) is not None:
        found.append(path)
  for pattern in patterns:
    matches = glob.glob(pattern)
    if not matches and not glob.has_magic(pattern):
      matches = [pattern]
    found.extend(m for m in matches if os.path.isdir(m) or not glob.has_magic(pattern))
  unique = sorted({os.path.abspath(p) for p in found}, key=_natural_key)
  return unique
