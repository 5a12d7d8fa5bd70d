"""ONNX encoders: a model folder holding `encoder.onnx` and its metadata `encoder.json`.

An ONNX file is data, not code: it is run by onnxruntime with its standard operators only
(no custom-operator libraries are registered), so loading one executes nothing else.
`encoder.json` says how to feed it and read it:

    {"format": "infofrag-encoder-v1",
     "dataset": "dsprites_full",
     "input": {"layout": "NHWC" | "NCHW", "range": [0, 1] | [-1, 1] | [0, 255]},
     "outputs": {"mean": "<output name>", "spread": "<output name>", "convention": "logvar"}
              | {"concatenated": "<output name>", "convention": "logvar"},
     "method": "beta_vae", "hyperparameters": {"beta": 4.0}, "seed": 0,
     "framework": "pytorch 2.5"}

Conventions: `infofrag.zoo.conventions.SPREAD_CONVENTIONS`. The dataset's observations are
float32 in [0, 1], NHWC; they are transposed and rescaled to what the encoder expects.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np

from infofrag.zoo import bundle as bundle_lib
from infofrag.zoo import conventions
from infofrag.zoo import errors

ONNX_FILE = "encoder.onnx"
METADATA_FILE = "encoder.json"
ENCODER_FORMAT = "infofrag-encoder-v1"
REQUIRED_METADATA = ("format", "dataset", "input", "outputs", "method", "hyperparameters",
                     "seed", "framework")
LAYOUTS = ("NHWC", "NCHW")


def onnx_path(model_dir: str) -> str:
  return os.path.join(model_dir, ONNX_FILE)


def metadata_path(model_dir: str) -> str:
  return os.path.join(model_dir, METADATA_FILE)


def read_metadata(model_dir: str) -> dict[str, Any]:
  """The checked `encoder.json` of an ONNX model folder.

  Raises
  ------
  ValueError
      One line naming the file: missing, not JSON, a missing field, an unknown layout,
      range or convention.
  """
  path = metadata_path(model_dir)
  try:
    with open(path) as f:
      metadata = json.load(f)
  except FileNotFoundError:
    raise ValueError(f"{path}: missing; an ONNX encoder needs its metadata beside it "
                     "(see docs/file_formats.md).") from None
  except json.JSONDecodeError as error:
    raise ValueError(f"{path}: not valid JSON ({error.msg}, line {error.lineno}).") from None
  bundle_lib.check_metadata(metadata, where=path, required=REQUIRED_METADATA)
  if metadata["format"] != ENCODER_FORMAT:
    raise ValueError(f"{path}: format {metadata['format']!r} is not {ENCODER_FORMAT!r}.")
  layout = (metadata["input"] or {}).get("layout") if isinstance(metadata["input"], dict) else None
  if layout not in LAYOUTS:
    raise ValueError(f"{path}: input.layout must be \"NHWC\" or \"NCHW\", got {layout!r}.")
  value_range = metadata["input"].get("range", [0, 1])
  if (not isinstance(value_range, list) or len(value_range) != 2
      or not all(isinstance(v, (int, float)) for v in value_range)
      or value_range[0] >= value_range[1]):
    raise ValueError(f"{path}: input.range must be [low, high] with low < high, e.g. [0, 1]; "
                     f"got {value_range!r}.")
  outputs = metadata["outputs"]
  if not isinstance(outputs, dict) or not (
      {"mean", "spread"} <= set(outputs) or "concatenated" in outputs):
    raise ValueError(f"{path}: outputs must name \"mean\" and \"spread\", or \"concatenated\" "
                     "(disent's [mean, log-variance]), with a \"convention\".")
  conventions.check_convention(outputs.get("convention"), where=f"{path}: outputs.convention")
  return metadata


class OnnxEncoder:
  """The encoder interface (`encode`) of an ONNX model run by onnxruntime.

  Attributes
  ----------
  model_dir : str
  format : str
      "onnx".
  input_shape : list of int or None
      The observation shape (NHWC) the encoder accepts; None where a dimension is free.
  num_latent : int or None
      Channels, when the output shape fixes them (else known after the first batch).
  """

  format = "onnx"

  def __init__(self, model_dir: str) -> None:
    self.model_dir = model_dir
    self.metadata = read_metadata(model_dir)
    try:
      import onnxruntime
    except ImportError:
      raise errors.ModelLoadError(
          f"{model_dir}: reading ONNX encoders needs onnxruntime; pip install "
          "\"onnxruntime>=1.17,<2\" (or infofrag[onnx]).") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the stages already run models side by side
    options.log_severity_level = 3
    try:
      self._session = onnxruntime.InferenceSession(onnx_path(model_dir), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
      raise errors.ModelLoadError(
          f"{onnx_path(model_dir)}: cannot load the ONNX model ({type(error).__name__}: "
          f"{str(error).splitlines()[0] if str(error) else ''}).") from None
    inputs = self._session.get_inputs()
    if len(inputs) != 1:
      raise errors.ModelLoadError(f"{onnx_path(model_dir)}: the encoder takes "
                                       f"{len(inputs)} inputs; export one (the images).")
    self._input_name = inputs[0].name
    shape = [d if isinstance(d, int) else None for d in inputs[0].shape]
    layout = self.metadata["input"]["layout"]
    if len(shape) == 4 and layout == "NCHW":
      shape = [shape[0], shape[2], shape[3], shape[1]]
    self.input_shape = shape[1:]
    outputs = self.metadata["outputs"]
    names = {o.name for o in self._session.get_outputs()}
    wanted = [outputs["concatenated"]] if "concatenated" in outputs else [outputs["mean"],
                                                                          outputs["spread"]]
    unknown = [name for name in wanted if name not in names]
    if unknown:
      raise errors.ModelLoadError(
          f"{metadata_path(model_dir)}: outputs {unknown} are not outputs of the ONNX model "
          f"(it has {sorted(names)}).")
    self._output_names = wanted
    self.num_latent = None
    self.decoder_output = "none"

  def check_observation_shape(self, observation_shape: Sequence[int]) -> None:
    """Raises ModelLoadError if the dataset's observations (NHWC) do not fit the encoder."""
    given = list(observation_shape)
    expected = self.input_shape
    layout = self.metadata["input"]["layout"]
    if len(expected) != len(given) or any(e is not None and e != g
                                          for e, g in zip(expected, given)):
      raise errors.ModelLoadError(
          f"{onnx_path(self.model_dir)}: the encoder takes images of shape {expected} (as "
          f"NHWC; declared layout {layout}) but the dataset "
          f"{self.metadata['dataset']!r} gives {given}; export it for that shape or fix "
          "input.layout in encoder.json.")

  def _feed(self, observations: np.ndarray) -> np.ndarray:
    low, high = self.metadata["input"].get("range", [0, 1])
    batch = np.asarray(observations, dtype=np.float32)
    if (low, high) != (0, 1):
      batch = (batch * np.float32(high - low) + np.float32(low)).astype(np.float32)
    if self.metadata["input"]["layout"] == "NCHW" and batch.ndim == 4:
      batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    return batch

  def encode(self, observations: np.ndarray,
             batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar), each of shape (n, c): the encoder's posterior, spread converted to
    natural-log variances."""
    outputs = self.metadata["outputs"]
    where = onnx_path(self.model_dir)
    means, logvars = [], []
    for start in range(0, len(observations), batch_size):
      try:
        results = self._session.run(self._output_names,
                                    {self._input_name: self._feed(observations[start:start
                                                                               + batch_size])})
      except Exception as error:  # onnxruntime's own exception types
        raise errors.ModelLoadError(f"{where}: the encoder failed ({type(error).__name__}: "
                                         f"{str(error).splitlines()[0]}).") from None
      if "concatenated" in outputs:
        mean, spread = conventions.split_concatenated(results[0], where=where)
      else:
        mean, spread = results
      mean = np.asarray(mean).reshape(len(mean), -1)
      spread = np.asarray(spread).reshape(len(spread), -1)
      means.append(mean.astype(np.float64))
      logvars.append(conventions.to_logvar(spread, outputs["convention"], where=where))
    if not means:
      return np.zeros((0, 0)), np.zeros((0, 0))
    mean, logvar = np.concatenate(means), np.concatenate(logvars)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(logvar))):
      raise errors.ModelLoadError(f"{where}: the encoder produced NaN or inf values "
                                       "(diverged training or incompatible inputs).")
    self.num_latent = int(mean.shape[1])
    return mean, logvar

  def decode_images(self, latents: np.ndarray) -> np.ndarray:
    raise errors.ModelLoadError(f"{self.model_dir}: an ONNX encoder has no decoder (no "
                                     "traversal figures for its channels).")
