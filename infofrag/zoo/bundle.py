"""Embedding bundles: one model's posterior on named dataset points, in one `.npz` file.

A bundle lets a model trained anywhere (PyTorch, JAX, ...) enter infofrag's analysis and
metrics without its code: `MODEL_DIR/embeddings.npz` holds

- ``mean``: ndarray of shape (n, c), the posterior means;
- ``spread``: ndarray of shape (n, c), the posterior spread in the declared convention
  (`conventions.SPREAD_CONVENTIONS`); or, instead of both, ``posterior`` of shape (n, 2c)
  = [mean, spread] concatenated (disent's layout);
- ``indices``: ndarray of shape (n,), int, each point's index in the dataset (the
  mixed-radix index of its factor values, as `infofrag_sample` writes them);
- ``metadata``: a JSON string: ``format`` ("infofrag-embeddings-v1"), ``dataset``,
  ``convention``, ``method``, ``hyperparameters`` ({name: value}; the first one groups the
  tables), ``seed``, ``framework``, and optionally ``factor_names``.

Writing one needs only numpy (``np.savez``); it is read with pickling off. npz rather
than safetensors: safetensors holds tensors only (its metadata is a flat str->str map),
whereas the bundle's integer indices and nested metadata fit npz as they are, and every
framework can write it with numpy alone.

A bundle's encoder (`BundleEncoder`) answers `encode(observations)` by looking each
observation up by its content among the bundle's points (re-rendered from the dataset), so
every stage and metric that would call the encoder gets exactly the stored posteriors, in
whatever order it draws its points, and fails with one line for a point the bundle lacks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Mapping, Sequence

import numpy as np

from infofrag.data import named_data
from infofrag.utils import io
from infofrag.zoo import conventions
from infofrag.zoo import errors

BUNDLE_FILE = "embeddings.npz"
BUNDLE_FORMAT = "infofrag-embeddings-v1"
REQUIRED_METADATA = ("format", "dataset", "convention", "method", "hyperparameters", "seed",
                     "framework")


class BundleError(ValueError):
  """A bundle file is malformed; the message names the file and the fix."""


@dataclasses.dataclass
class Bundle:
  """A validated bundle.

  Attributes
  ----------
  path : str
  mean, logvar : ndarray of shape (n, c), float64
      Posterior means and natural-log variances (converted from the declared convention).
  indices : ndarray of shape (n,), int64
  metadata : dict
  """
  path: str
  mean: np.ndarray
  logvar: np.ndarray
  indices: np.ndarray
  metadata: dict[str, Any]


def bundle_path(model_dir: str) -> str:
  """MODEL_DIR/embeddings.npz."""
  return os.path.join(model_dir, BUNDLE_FILE)


def check_metadata(metadata: Any, *, where: str, required: Sequence[str]) -> dict[str, Any]:
  """The metadata dict if it has every `required` field of the right kind; else one line.

  Raises
  ------
  ValueError
      Naming `where` and the missing or malformed field.
  """
  if not isinstance(metadata, dict):
    raise ValueError(f"{where}: the metadata must be a JSON object.")
  missing = [name for name in required if name not in metadata]
  if missing:
    raise ValueError(f"{where}: the metadata lacks {', '.join(missing)}; add "
                     + ", ".join(f'"{name}"' for name in missing) + " (see docs/file_formats.md).")
  if "hyperparameters" in metadata and not isinstance(metadata["hyperparameters"], dict):
    raise ValueError(f"{where}: \"hyperparameters\" must be an object such as {{\"beta\": 4.0}}.")
  if "seed" in metadata and metadata["seed"] is not None and (
      isinstance(metadata["seed"], bool) or not isinstance(metadata["seed"], int)):
    raise ValueError(f"{where}: \"seed\" must be an integer or null, got {metadata['seed']!r}.")
  if "dataset" in metadata and not isinstance(metadata["dataset"], str):
    raise ValueError(f"{where}: \"dataset\" must be a dataset name such as \"dsprites_full\".")
  return metadata


def read_metadata(path: str) -> dict[str, Any]:
  """The metadata of a bundle, without loading its arrays (for `ModelInfo`)."""
  try:
    with np.load(path, allow_pickle=False) as stored:
      if "metadata" not in stored.files:
        raise BundleError(f"{path}: no 'metadata' entry; add metadata=json.dumps({{...}}) to "
                          "np.savez (see docs/file_formats.md).")
      text = str(stored["metadata"])
  except (OSError, ValueError, EOFError) as error:
    if isinstance(error, BundleError):
      raise
    raise BundleError(f"{path}: cannot read the bundle ({type(error).__name__}: "
                      f"{str(error).splitlines()[0] if str(error) else ''}); write it with "
                      "np.savez (pickling is not allowed).") from None
  try:
    metadata = json.loads(text)
  except json.JSONDecodeError as error:
    raise BundleError(f"{path}: 'metadata' is not valid JSON ({error.msg}).") from None
  return check_metadata(metadata, where=path, required=REQUIRED_METADATA)


def read_bundle(path: str) -> Bundle:
  """Loads and validates a bundle (pickling off).

  Raises
  ------
  BundleError
      One line naming the file: missing arrays or metadata fields, wrong shapes, NaN or
      inf, an unknown convention, repeated indices.
  """
  metadata = read_metadata(path)
  if metadata["format"] != BUNDLE_FORMAT:
    raise BundleError(f"{path}: format {metadata['format']!r} is not {BUNDLE_FORMAT!r}.")
  try:
    convention = conventions.check_convention(metadata["convention"], where=path)
  except ValueError as error:
    raise BundleError(str(error)) from None
  with np.load(path, allow_pickle=False) as stored:
    arrays = {name: stored[name] for name in stored.files if name != "metadata"}
  if "posterior" in arrays:
    mean, spread = conventions.split_concatenated(arrays["posterior"], where=path)
  elif {"mean", "spread"} <= set(arrays):
    mean, spread = arrays["mean"], arrays["spread"]
  else:
    raise BundleError(f"{path}: needs 'mean' and 'spread' arrays (or one concatenated "
                      f"'posterior'); found {sorted(arrays) or 'none'}.")
  if "indices" not in arrays:
    raise BundleError(f"{path}: needs 'indices', the dataset index of each point (copy them "
                      "from infofrag_sample's points file).")
  indices = arrays["indices"]
  mean, spread = np.asarray(mean), np.asarray(spread)
  if mean.ndim != 2 or spread.shape != mean.shape or indices.shape != (mean.shape[0],):
    raise BundleError(f"{path}: shapes disagree: mean {mean.shape}, spread {spread.shape}, "
                      f"indices {indices.shape}; expected (n, c), (n, c) and (n,).")
  if not np.issubdtype(indices.dtype, np.integer):
    raise BundleError(f"{path}: 'indices' must be integers, got {indices.dtype}.")
  for name, values in (("mean", mean), ("spread", spread)):
    if not np.issubdtype(values.dtype, np.floating):
      raise BundleError(f"{path}: '{name}' must be floating point, got {values.dtype}.")
    bad = ~np.all(np.isfinite(values), axis=0)
    if bad.any():
      raise BundleError(f"{path}: '{name}' holds NaN or inf in channel(s) "
                        f"{', '.join(str(c) for c in np.flatnonzero(bad)[:8])}.")
  if np.unique(indices).size != indices.size:
    raise BundleError(f"{path}: 'indices' repeats points; give each point once.")
  try:
    logvar = conventions.to_logvar(spread, convention, where=path)
  except ValueError as error:
    raise BundleError(str(error)) from None
  return Bundle(path, mean.astype(np.float64), logvar, indices.astype(np.int64), metadata)


def write_bundle(path: str, *, mean: np.ndarray, spread: np.ndarray, indices: np.ndarray,
                 metadata: Mapping[str, Any]) -> str:
  """Writes a bundle (what a user's script does with ``np.savez``); returns the path.

  Parameters
  ----------
  mean, spread : ndarray of shape (n, c)
  indices : ndarray of shape (n,), int
  metadata : mapping
      The fields of `REQUIRED_METADATA` (``format`` is filled in when absent).
  """
  document = {"format": BUNDLE_FORMAT, **dict(metadata)}
  check_metadata(document, where=path, required=REQUIRED_METADATA)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with io.atomic_path(path) as tmp:
    with open(tmp, "wb") as f:
      np.savez(f, mean=np.asarray(mean), spread=np.asarray(spread),
               indices=np.asarray(indices, dtype=np.int64), metadata=np.array(json.dumps(document)))
  return path


def observation_keys(observations: np.ndarray) -> list[bytes]:
  """A content digest per observation (float32 bytes): equal images, equal keys."""
  flat = np.ascontiguousarray(np.asarray(observations, dtype=np.float32)).reshape(
      len(observations), -1)
  return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def factors_of_indices(indices: np.ndarray, factor_sizes: Sequence[int]) -> np.ndarray:
  """ndarray of shape (n, F): the factor values of mixed-radix point indices (last factor
  fastest, dlib's index order)."""
  return np.stack(np.unravel_index(np.asarray(indices, dtype=np.int64), tuple(factor_sizes)),
                  axis=1).astype(np.int64)


def indices_of_factors(factors: np.ndarray, factor_sizes: Sequence[int]) -> np.ndarray:
  """ndarray of shape (n,): the mixed-radix index of each row of factor values."""
  factors = np.asarray(factors, dtype=np.int64)
  return np.ravel_multi_index(tuple(factors.T), tuple(factor_sizes)).astype(np.int64)


def check_deterministic(data: Any, dataset_name: str, *, where: str) -> None:
  """Rejects a dataset whose images are not a function of the factors (a bundle's indices
  could not name its points)."""
  factors = data.sample_factors(4, np.random.RandomState(0))
  first = data.sample_observations_from_factors(factors, np.random.RandomState(1))
  second = data.sample_observations_from_factors(factors, np.random.RandomState(2))
  if not np.array_equal(first, second):
    raise BundleError(f"{where}: dataset {dataset_name!r} draws random noise or colours into "
                      "its images, so point indices do not name them; bundles need a dataset "
                      "whose images are a function of the factors (use an ONNX encoder).")


class BundleEncoder:
  """The encoder interface (`encode`) of a bundle: stored posteriors looked up by content.

  Attributes
  ----------
  model_dir : str
  format : str
      "bundle".
  num_latent : int
  input_shape : list of int
      The dataset's observation shape.
  """

  format = "bundle"

  def __init__(self, model_dir: str, bundle: Bundle | None = None, *,
               batch_size: int = 256) -> None:
    self.model_dir = model_dir
    self.bundle = bundle or read_bundle(bundle_path(model_dir))
    name = self.bundle.metadata["dataset"]
    try:
      data = named_data.get_named_ground_truth_data(name)
    except (ValueError, KeyError, FileNotFoundError) as error:
      raise BundleError(f"{self.bundle.path}: dataset {name!r}: "
                        f"{str(error).splitlines()[0]}") from None
    check_deterministic(data, name, where=self.bundle.path)
    sizes = data.factors_num_values
    if self.bundle.indices.min() < 0 or self.bundle.indices.max() >= int(np.prod(sizes)):
      raise BundleError(f"{self.bundle.path}: 'indices' run outside [0, {int(np.prod(sizes))}), "
                        f"the points of {name}.")
    names = self.bundle.metadata.get("factor_names")
    if names is not None and list(names) != list(getattr(data, "factor_names", names)):
      raise BundleError(f"{self.bundle.path}: factor_names {list(names)} differ from "
                        f"{name}'s {list(data.factor_names)}.")
    self.num_latent = int(self.bundle.mean.shape[1])
    self.input_shape = list(data.observation_shape)
    self._rows: dict[bytes, int] = {}
    factors = factors_of_indices(self.bundle.indices, sizes)
    for start in range(0, len(factors), batch_size):
      images = data.sample_observations_from_factors(factors[start:start + batch_size],
                                                     np.random.RandomState(0))
      for offset, key in enumerate(observation_keys(images)):
        self._rows.setdefault(key, start + offset)

  def check_observation_shape(self, observation_shape: Sequence[int]) -> None:
    """Raises ModelLoadError if the observations are not the bundle dataset's."""
    if list(observation_shape) != self.input_shape:
      raise errors.ModelLoadError(
          f"{self.model_dir}: the bundle holds points of {self.bundle.metadata['dataset']} "
          f"(shape {self.input_shape}), not of shape {list(observation_shape)}.")

  def encode(self, observations: np.ndarray,
             batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar), each of shape (n, c): the stored posteriors of the observations.

    Raises
    ------
    ModelLoadError
        When an observation is not among the bundle's points, saying how to make one
        that has it.
    """
    del batch_size
    rows = [self._rows.get(key, -1) for key in observation_keys(observations)]
    missing = sum(row < 0 for row in rows)
    if missing:
      raise errors.ModelLoadError(
          f"{self.model_dir}: the bundle lacks {missing} of the {len(rows)} points asked for; "
          "write the points with infofrag_sample at this run's settings (--fingerprint_size, "
          "--fingerprint_seed, --metrics, --gin_bindings), embed them and write the bundle again.")
    rows = np.asarray(rows, dtype=np.int64)
    return self.bundle.mean[rows], self.bundle.logvar[rows]

  def decode_images(self, latents: np.ndarray) -> np.ndarray:
    raise errors.ModelLoadError(f"{self.model_dir}: a bundle has no decoder (no traversal "
                                     "figures for its channels).")
