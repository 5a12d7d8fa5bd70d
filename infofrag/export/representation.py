"""Export of a representation function (dlib's postprocessed ``tfhub``) as a TF2 SavedModel.

``OUTPUT/tfhub`` has one signature, dlib's:

  representation(images [B, *obs] float32) -> {"default": codes [B, num_latent] float32}

It wraps the trained model's ``gaussian_encoder`` signature (infofrag's TF2 SavedModel or
dlib's TF1 Hub module; the encoder's variables are saved along) and a postprocess
transform (`infofrag.postprocessing.methods`). The string variable ``infofrag_info``
holds JSON: the postprocess method, observation shape, num_latent and the source model's
format. It loads with plain ``tf.saved_model.load`` without infofrag.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import tensorflow as tf

SIGNATURE = "representation"
OUTPUT_KEY = "default"


class _RepresentationModule(tf.Module):
  """The encoder's module, the transform and the `representation` function."""

  def __init__(self, source_module: Any, encoder_function: Any, transform: Any,
               observation_shape: Sequence[Any], info_json: str) -> None:
    super().__init__(name="representation_module")
    self.source = source_module  # tracks the encoder's variables for saving
    self.transform = transform
    self.infofrag_info = tf.Variable(info_json, trainable=False, name="infofrag_info")
    image_spec = tf.TensorSpec([None] + list(observation_shape), tf.float32, name="images")

    @tf.function(input_signature=[image_spec])
    def representation(images):
      posterior = encoder_function(images=images)
      codes = transform(mean=posterior["mean"], logvar=posterior["logvar"])
      return {OUTPUT_KEY: tf.cast(codes, tf.float32)}

    self.representation = representation


def export_representation(model: Any, transform: Any, export_path: str,
                          info: Mapping[str, Any]) -> str:
  """Saves ``representation = transform(gaussian_encoder(images))`` at `export_path`.

  Parameters
  ----------
  model : infofrag.zoo.saved_model.LoadedModel
      The trained model (its ``module``, ``encoder_function`` and ``input_shape``).
  transform : callable
      ``transform(mean=[B, L], logvar=[B, L]) -> [B, L']`` on tensors; a `tf.Module`
      keeps its variables in the saved representation.
  export_path : str
      The folder to write (must not exist yet).
  info : mapping
      JSON-serialisable facts stored as ``infofrag_info``.

  Returns
  -------
  str, `export_path`.
  """
  module = _RepresentationModule(model.module, model.encoder_function, transform,
                                 model.input_shape, json.dumps(dict(info), sort_keys=True))
  tf.saved_model.save(module, export_path, signatures={SIGNATURE: module.representation})
  return export_path
