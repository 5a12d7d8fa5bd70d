"""Loading encoders/decoders from model directories: infofrag's TF2 SavedModels and
disentanglement_lib's TF1 Hub modules (the published zoo), behind one interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import json
import os

import numpy as np
import numpy.typing as npt

from infofrag.zoo import bundle as bundle_lib
from infofrag.zoo import errors
from infofrag.zoo import model_info
from infofrag.zoo import onnx_model


ModelLoadError = errors.ModelLoadError  # raised by every reader; kept here for callers


class LoadedModel:
  """A Gaussian encoder (and decoder) read from `DIR/model/tfhub`.

  Attributes
  ----------
  model_dir : str
    the model directory.
  format : str
    "tf1_hub" (dlib's TF1 Hub module, `tfhub_module.pb` present) or "tf2".
  input_shape : list of int or None
    observation shape the encoder accepts, e.g. [64, 64, 1] (None dims allowed).
  num_latent : int
    number of latent channels.
  decoder_output : str
    what the decoder returns: "logits" (Bernoulli, dlib's images),
    "tanh" (pre-tanh values) or "linear" (raw values), as recorded at export; dlib's
    TF1 modules are "logits".
  """

  def __init__(self, model_dir: str, *, tfhub_dir: str | None = None) -> None:
    """Loads `model_dir`/model/tfhub, or `tfhub_dir` when given (dlib's model folder
    ``X`` names its module ``X/tfhub``; `model_dir` then only names it in messages)."""
    import tensorflow as tf
    self.model_dir = model_dir
    path = tfhub_dir or model_info.tfhub_path(model_dir)
    if not os.path.isdir(path):
      raise ModelLoadError(
          f"{model_dir}: no saved model at {path} (expected DIR/model/tfhub as written by "
          "infofrag_train or disentanglement_lib). Check the path or re-train/export the model.")
    self.format = "tf1_hub" if os.path.exists(os.path.join(path, "tfhub_module.pb")) else "tf2"
    try:
      # dlib's Hub modules hold two meta graphs ({} and {"train"}): the empty tag set
      # is the inference graph. TF2 SavedModels load with the default tags.
      self._module = (tf.saved_model.load(path, tags=[]) if self.format == "tf1_hub"
                      else tf.saved_model.load(path))
    except Exception as error:  # TF raises many types for corrupt models.
      raise ModelLoadError(f"{model_dir}: cannot load the SavedModel at {path}: "
                           f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                           ) from error
    signatures = dict(self._module.signatures)
    if "gaussian_encoder" not in signatures:
      raise ModelLoadError(
          f"{model_dir}: the SavedModel at {path} has no 'gaussian_encoder' signature "
          f"(found: {sorted(signatures) or 'none'}); infofrag needs dlib's signatures "
          "gaussian_encoder(images) -> {mean, logvar}.")
    self._encoder = signatures["gaussian_encoder"]
    self._decoder = signatures.get("decoder")
    spec = self._encoder.structured_input_signature[1]
    if "images" not in spec:
      raise ModelLoadError(f"{model_dir}: gaussian_encoder takes {sorted(spec)}, expected 'images'.")
    self.input_shape = list(spec["images"].shape)[1:]
    outputs = self._encoder.structured_outputs
    if not {"mean", "logvar"} <= set(outputs):
      raise ModelLoadError(f"{model_dir}: gaussian_encoder returns {sorted(outputs)}, expected "
                           "'mean' and 'logvar'.")
    self.num_latent = outputs["mean"].shape[-1]
    self.decoder_output = "logits"
    if self.format == "tf2" and hasattr(self._module, "infofrag_info"):
      info = json.loads(self._module.infofrag_info.numpy().decode())
      self.decoder_output = info.get("decoder_output", "logits")

  @property
  def encoder_function(self) -> Any:
    """The `gaussian_encoder` signature itself: ``f(images=[B, *input_shape] float32) ->
    {"mean", "logvar"}`` ([B, num_latent] tensors); callable inside a `tf.function`."""
    return self._encoder

  @property
  def module(self) -> Any:
    """The loaded SavedModel object (holds the variables the signatures use)."""
    return self._module

  def check_observation_shape(self, observation_shape: Sequence[int]) -> None:
    """Raises ModelLoadError if observations of this shape cannot be encoded."""
    expected = self.input_shape
    given = list(observation_shape)
    if len(expected) != len(given) or any(e is not None and e != g for e, g in zip(expected, given)):
      raise ModelLoadError(
          f"{self.model_dir}: the model encodes observations of shape {expected}, but the "
          f"dataset gives {given}. Evaluate it on the dataset it was trained on (dataset.name).")

  def encode(self, observations: npt.ArrayLike,
             batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Posterior parameters of observations [N, *input_shape].

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
      (mean, logvar): [N, num_latent] float32 each. Raises ModelLoadError if the
      encoder outputs NaN or inf.
    """
    import tensorflow as tf
    observations = np.asarray(observations, dtype=np.float32)
    means, logvars = [], []
    for start in range(0, len(observations), batch_size):
      out = self._encoder(images=tf.constant(observations[start:start + batch_size]))
      means.append(out["mean"].numpy())
      logvars.append(out["logvar"].numpy())
    mean = np.concatenate(means) if means else np.zeros((0, self.num_latent), np.float32)
    logvar = np.concatenate(logvars) if logvars else np.zeros((0, self.num_latent), np.float32)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(logvar))):
      raise ModelLoadError(f"{self.model_dir}: the encoder produced NaN or inf values "
                           "(diverged training or incompatible inputs); this model is skipped.")
    return mean, logvar

  def decode(self, latents: npt.ArrayLike, batch_size: int = 64) -> np.ndarray:
    """Decoder output for latents [N, num_latent] (dlib: Bernoulli logits for images)."""
    import tensorflow as tf
    if self._decoder is None:
      raise ModelLoadError(f"{self.model_dir}: the SavedModel has no 'decoder' signature.")
    latents = np.asarray(latents, dtype=np.float32)
    outs = [self._decoder(latent_vectors=tf.constant(latents[s:s + batch_size]))["images"].numpy()
            for s in range(0, len(latents), batch_size)]
    return np.concatenate(outs)


  def decode_images(self, latents: npt.ArrayLike) -> np.ndarray:
    """Decoded images in [0, 1] for latents [N, num_latent], whatever the decoder's output
    type (`decoder_output`): sigmoid of logits, tanh rescaled, or raw values clipped."""
    outputs = self.decode(latents).astype(np.float64)
    if self.decoder_output == "logits":
      return 1.0 / (1.0 + np.exp(-np.clip(outputs, -60.0, 60.0)))
    if self.decoder_output == "tanh":
      return np.tanh(outputs) / 2.0 + 0.5
    return np.clip(outputs, 0.0, 1.0)


def load_model(model_dir: str) -> Any:
  """The encoder of a model folder, whatever its source (see `model_info.model_source`).

  Returns
  -------
  LoadedModel (model/tfhub: infofrag's TF2 or dlib's TF1), `onnx_model.OnnxEncoder`
  (encoder.onnx) or `bundle.BundleEncoder` (embeddings.npz). Each has ``encode``,
  ``check_observation_shape`` and ``decode_images`` (the last raises ModelLoadError
  without a decoder).

  Raises
  ------
  ModelLoadError
      With the model directory (or file) and the fix in the message.
  """
  source = model_info.model_source(model_dir)
  if source == "onnx":
    try:
      return onnx_model.OnnxEncoder(model_dir)
    except ValueError as error:
      raise ModelLoadError(str(error)) from None
  if source == "bundle":
    try:
      return bundle_lib.BundleEncoder(model_dir)
    except ValueError as error:
      raise ModelLoadError(str(error)) from None
  return LoadedModel(model_dir)
