"""Reading a postprocessed representation (dlib's ``OUTPUT/tfhub`` of the postprocess step).

Both infofrag's TF2 SavedModels (`infofrag.export.representation`) and dlib's TF1 Hub
modules (``tfhub_module.pb`` beside the SavedModel) are read; either has the signature
``representation(images) -> {"default": codes}``.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import numpy.typing as npt

from infofrag.zoo import errors

SIGNATURE = "representation"
OUTPUT_KEY = "default"


class LoadedRepresentation:
  """A representation function read from ``INPUT_DIR/tfhub``.

  Attributes
  ----------
  input_dir : str
      The postprocessed folder.
  format : str
      "tf1_hub" (dlib's) or "tf2" (infofrag's).
  input_shape : list
      The observation shape the signature accepts (None dims allowed).
  num_latent : int or None
      Width of the codes, when the signature declares it.
  """

  def __init__(self, input_dir: str) -> None:
    import tensorflow as tf
    self.input_dir = input_dir
    path = os.path.join(input_dir, "tfhub")
    if not os.path.isdir(path):
      raise errors.ModelLoadError(
          f"{input_dir}: no representation at {path} (expected the output folder of "
          "dlib_postprocess or infofrag_postprocess).")
    self.format = "tf1_hub" if os.path.exists(os.path.join(path, "tfhub_module.pb")) else "tf2"
    try:
      module = (tf.saved_model.load(path, tags=[]) if self.format == "tf1_hub"
                else tf.saved_model.load(path))
    except Exception as error:  # TF raises many types for corrupt SavedModels.
      first = str(error).splitlines()[0] if str(error) else ""
      raise errors.ModelLoadError(f"{input_dir}: cannot load the SavedModel at {path}: "
                                  f"{type(error).__name__}: {first}") from error
    self._module = module
    signatures = dict(module.signatures)
    if SIGNATURE not in signatures:
      raise errors.ModelLoadError(
          f"{input_dir}: the SavedModel at {path} has no '{SIGNATURE}' signature (found: "
          f"{sorted(signatures) or 'none'}); postprocess the model first (infofrag_postprocess).")
    self._function = signatures[SIGNATURE]
    spec = self._function.structured_input_signature[1]
    if "images" not in spec:
      raise errors.ModelLoadError(f"{input_dir}: {SIGNATURE} takes {sorted(spec)}, expected "
                                  "'images'.")
    self.input_shape = list(spec["images"].shape)[1:]
    outputs = self._function.structured_outputs
    if OUTPUT_KEY not in outputs:
      raise errors.ModelLoadError(f"{input_dir}: {SIGNATURE} returns {sorted(outputs)}, expected "
                                  f"'{OUTPUT_KEY}'.")
    self.num_latent = outputs[OUTPUT_KEY].shape[-1]

  def check_observation_shape(self, observation_shape: Sequence[int]) -> None:
    """Raises ModelLoadError if observations of this shape cannot be encoded."""
    expected, given = self.input_shape, list(observation_shape)
    if len(expected) != len(given) or any(e is not None and e != g
                                          for e, g in zip(expected, given)):
      raise errors.ModelLoadError(
          f"{self.input_dir}: the representation takes observations of shape {expected}, but "
          f"the dataset gives {given}; evaluate it on the dataset it was trained on.")

  def __call__(self, observations: npt.ArrayLike, batch_size: int = 64) -> np.ndarray:
    """Codes of observations.

    Parameters
    ----------
    observations : array, [N, *input_shape]
    batch_size : int

    Returns
    -------
    ndarray, [N, num_latent] float64. Raises ModelLoadError on NaN or inf.
    """
    import tensorflow as tf
    observations = np.asarray(observations, dtype=np.float32)
    chunks = [self._function(images=tf.constant(observations[start:start + batch_size])
                             )[OUTPUT_KEY].numpy()
              for start in range(0, len(observations), batch_size)]
    codes = (np.concatenate(chunks) if chunks else np.zeros((0, self.num_latent or 0)))
    if not np.all(np.isfinite(codes)):
      raise errors.ModelLoadError(f"{self.input_dir}: the representation produced NaN or inf.")
    return codes.astype(np.float64)
