"""Builds a tiny model directory in dlib's TF1 Hub format (the published zoo's layout).

The SavedModel is written with `tf.compat.v1` in graph mode: two meta graphs (the
empty tag set for inference and {"train"}, as dlib's hub exporter writes), signature
defs named like dlib's (gaussian_encoder, decoder, reconstructions), and a
`tfhub_module.pb` marker file beside it. The encoder is linear in the image pixels,
so its outputs are known in closed form for tests.
"""

import json
import os

import numpy as np


PIXELS = 64 * 64


def ramp(axis):
  """Linear encoder weights [64 * 64] whose output grows with the sprite's x (axis=1) or
  y (axis=0): the channel of a model that reads that position."""
  grid = np.indices((64, 64))[axis].astype(np.float32)
  return ((grid - 32.0) / 32.0 * 0.05).reshape(PIXELS)


def write_dlib_train_results(model_dir, bindings):
  """dlib-style model/results/{gin,json,aggregate} for the given {binding: gin value}."""
  results = os.path.join(model_dir, "model", "results")
  for sub in ("gin", "json", "aggregate"):
    os.makedirs(os.path.join(results, sub), exist_ok=True)
  with open(os.path.join(results, "gin", "train.gin"), "w") as f:
    for key, value in bindings.items():
      f.write(f"# Parameters for {key.split('.')[0]}:\n# {'=' * 78}\n{key} = {value}\n\n")
  with open(os.path.join(results, "json", "train_config.json"), "w") as f:
    json.dump({key: str(value) for key, value in bindings.items()}, f, indent=2)
  train_results = {"loss": 1.0, "elapsed_time": 1.0, "uuid": "test"}
  with open(os.path.join(results, "json", "train_results.json"), "w") as f:
    json.dump(train_results, f)
  aggregate = {f"train_config.{k}": str(v) for k, v in bindings.items()}
  aggregate.update({f"train_results.{k}": v for k, v in train_results.items()})
  with open(os.path.join(results, "aggregate", "train.json"), "w") as f:
    json.dump(aggregate, f)


def build_tf1_hub_model(model_dir, weights, logvar_value=-2.0, image_shape=(64, 64, 1),
                        bindings=None, nan_outputs=False, encoder_signature="gaussian_encoder"):
  """Writes DIR/model/tfhub as a TF1 Hub module: mean = images_flat @ weights.

  Args:
    model_dir: the model directory to create.
    weights: [H*W*C, num_latent] float32 matrix of the linear encoder.
    logvar_value: constant log-variance of every channel.
    image_shape: [H, W, C].
    bindings: train.gin bindings ({binding: gin value}); default a dlib beta-VAE on
      dsprites_full.
    nan_outputs: make the encoder output NaN (a diverged model).
    encoder_signature: name of the encoder signature (change it to test errors).
  """
  import tensorflow as tf
  v1 = tf.compat.v1
  weights = np.asarray(weights, dtype=np.float32)
  num_latent = weights.shape[1]
  path = os.path.join(model_dir, "model", "tfhub")
  graph = tf.Graph()
  with graph.as_default():
    images = v1.placeholder(tf.float32, [None] + list(image_shape), name="images")
    latent_vectors = v1.placeholder(tf.float32, [None, num_latent], name="latent_vectors")
    kernel = v1.get_variable("encoder/kernel", initializer=tf.constant(weights))
    flat = tf.reshape(images, [-1, int(np.prod(image_shape))])
    mean = tf.matmul(flat, kernel, name="means")
    if nan_outputs:
      mean = mean * tf.constant(float("nan"))
    logvar = tf.zeros_like(mean) + logvar_value
    decoded = tf.reshape(tf.matmul(latent_vectors, tf.transpose(kernel)), [-1] + list(image_shape))
    reconstructed = tf.reshape(tf.matmul(mean, tf.transpose(kernel)), [-1] + list(image_shape))
    info = v1.saved_model.utils.build_tensor_info
    signatures = {
        encoder_signature: v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"images": info(images)},
            outputs={"mean": info(mean), "logvar": info(logvar)}),
        "decoder": v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"latent_vectors": info(latent_vectors)}, outputs={"images": info(decoded)}),
        "reconstructions": v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"images": info(images)}, outputs={"images": info(reconstructed)}),
    }
    with v1.Session(graph=graph) as session:
      session.run(v1.global_variables_initializer())
      builder = v1.saved_model.Builder(path)
      builder.add_meta_graph_and_variables(session, tags=[], signature_def_map=signatures)
      builder.add_meta_graph(tags=["train"], signature_def_map=signatures)
      builder.save()
  with open(os.path.join(path, "tfhub_module.pb"), "wb") as f:
    f.write(b"\x08\x03")  # a ModuleDef proto (format 3), as dlib's exporter writes
  if bindings is None:
    bindings = {"dataset.name": "'dsprites_full'", "encoder.num_latent": str(num_latent),
                "model.model": "@vae()", "model.name": "'beta_vae'", "model.random_seed": "0",
                "vae.beta": "4.", "model.model_num": "0"}
  write_dlib_train_results(model_dir, bindings)
  return model_dir


def build_tf1_representation(input_dir, weights, image_shape=(64, 64, 1),
                             dataset="'synthetic_dsprites'"):
  """Writes a postprocessed folder as dlib_postprocess does (TF1 Hub module
  INPUT/tfhub with the signature representation(images) -> {"default": images_flat @
  weights}, and INPUT/results/gin/postprocess.gin naming the dataset)."""
  import tensorflow as tf
  v1 = tf.compat.v1
  weights = np.asarray(weights, dtype=np.float32)
  path = os.path.join(input_dir, "tfhub")
  graph = tf.Graph()
  with graph.as_default():
    images = v1.placeholder(tf.float32, [None] + list(image_shape), name="images")
    kernel = v1.get_variable("transform/kernel", initializer=tf.constant(weights))
    codes = tf.matmul(tf.reshape(images, [-1, int(np.prod(image_shape))]), kernel)
    info = v1.saved_model.utils.build_tensor_info
    signature = v1.saved_model.signature_def_utils.build_signature_def(
        inputs={"images": info(images)}, outputs={"default": info(codes)})
    with v1.Session(graph=graph) as session:
      session.run(v1.global_variables_initializer())
      builder = v1.saved_model.Builder(path)
      builder.add_meta_graph_and_variables(session, tags=[],
                                           signature_def_map={"representation": signature})
      builder.save()
  with open(os.path.join(path, "tfhub_module.pb"), "wb") as f:
    f.write(b"\x08\x03")
  results = os.path.join(input_dir, "results")
  for sub in ("gin", "json", "aggregate"):
    os.makedirs(os.path.join(results, sub), exist_ok=True)
  with open(os.path.join(results, "gin", "postprocess.gin"), "w") as f:
    f.write(f"dataset.name = {dataset}\npostprocess.postprocess_fn = @mean_representation\n"
            "postprocess.random_seed = 0\n")
  with open(os.path.join(results, "json", "postprocess_results.json"), "w") as f:
    json.dump({"elapsed_time": 1.0, "uuid": "test"}, f)
  return input_dir
