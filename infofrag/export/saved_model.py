"""Export of a trained Gaussian encoder model as a TF2 SavedModel with dlib's signatures.

`DIR/model/tfhub` (a plain TF2 SavedModel, no `tfhub_module.pb`) has:
  gaussian_encoder(images [B, *obs] float32) -> {mean, logvar} [B, num_latent] float32
  decoder(latent_vectors [B, num_latent] float32) -> {images [B, *obs]}  decoder output:
      Bernoulli logits for reconstruction_loss.activation='logits' (apply a sigmoid to
      view), pre-tanh values for 'tanh', raw values for 'linear'
  reconstructions(images [B, *obs]) -> {images}: decodes z ~ N(mean, exp(logvar))
B is None (any batch size). The attribute `infofrag_info` (string variable) and the
asset `assets/infofrag_model.json` hold the same JSON: observation_shape, num_latent,
decoder_output, method, dataset. It loads with `tf.saved_model.load(path)` or
`tensorflow_hub.load(path)` without infofrag installed (only tf.Variables and
tf.functions are saved).
"""

from __future__ import annotations

import json
import os
import tempfile

import gin
import tensorflow as tf

INFO_ASSET_NAME = "infofrag_model.json"


class _ExportModule(tf.Module):
  """Holds the encoder/decoder variables and the three signature functions."""

  def __init__(self, encoder, decoder, observation_shape, num_latent, info_json, asset_path):
    super().__init__(name="gaussian_encoder_model")
    self.encoder = encoder
    self.decoder = decoder
    self.infofrag_info = tf.Variable(info_json, trainable=False, name="infofrag_info")
    self.info_asset = tf.saved_model.Asset(asset_path)
    image_spec = tf.TensorSpec([None] + list(observation_shape), tf.float32, name="images")
    latent_spec = tf.TensorSpec([None, num_latent], tf.float32, name="latent_vectors")

    @tf.function(input_signature=[image_spec])
    def gaussian_encoder(images):
      mean, logvar = self.encoder(images)
      return {"mean": mean, "logvar": logvar}

    @tf.function(input_signature=[latent_spec])
    def decode(latent_vectors):
      return {"images": self.decoder(latent_vectors)}

    @tf.function(input_signature=[image_spec])
    def reconstructions(images):
      mean, logvar = self.encoder(images)
      z = mean + tf.exp(logvar / 2) * tf.random.normal(tf.shape(mean))
      return {"images": self.decoder(z)}

    self.gaussian_encoder = gaussian_encoder
    self.decode = decode
    self.reconstructions = reconstructions


@gin.configurable("export_as_tf_hub", allowlist=["drop_collections"])
def export_as_tf_hub(model, export_path, info, drop_collections=None):
  """Saves `model` (built GaussianEncoderModel) as a SavedModel at `export_path`.

  Parameters
  ----------
  model : GaussianEncoderModel
      A built `infofrag.models.methods.GaussianEncoderModel`.
  export_path : str
      Target folder (must not exist yet).
  info : dict
      JSON-serialisable, stored with the model (observation_shape, ...).
  drop_collections : list or None
      dlib's TF1 Hub option; TF2 SavedModels have no graph collections, so only None or
      an empty list is accepted.
  """
  if drop_collections:
    raise ValueError("export_as_tf_hub.drop_collections only applies to TF1 Hub modules; "
                     "leave it None for infofrag's TF2 SavedModels.")
  info_json = json.dumps(info, sort_keys=True)
  with tempfile.TemporaryDirectory() as tmp:
    asset_path = os.path.join(tmp, INFO_ASSET_NAME)
    with open(asset_path, "w") as f:
      f.write(info_json + "\n")
    module = _ExportModule(model.encoder, model.decoder, model.observation_shape,
                           model.num_latent, info_json, asset_path)
    signatures = {
        "gaussian_encoder": module.gaussian_encoder,
        "decoder": module.decode,
        "reconstructions": module.reconstructions,
    }
    tf.saved_model.save(module, export_path, signatures=signatures)
  return export_path
