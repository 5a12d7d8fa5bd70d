"""The exported SavedModel: dlib's signatures, any batch size, loadable without infofrag."""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from infofrag.export import saved_model as export_lib
from infofrag.training import train
from infofrag.utils import results as results_lib

TINY_CONV = [
    "model.model = @vae()", "vae.beta = 1.", "dataset.name = 'synthetic_dsprites'",
    "model.batch_size = 4", "model.training_steps = 2", "model.random_seed = 0",
    "model.eval_steps = 1", "encoder.num_latent = 3", "encoder.encoder_fn = @conv_encoder",
    "decoder.decoder_fn = @deconv_decoder", "reconstruction_loss.loss_fn = @bernoulli_loss",
    "vae_optimizer.optimizer_fn = @vae/AdamOptimizer",
]
TINY_CIRCLE = [
    "model.model = @vae()", "vae.beta = 0.03", "dataset.name = 'circle'",
    "model.batch_size = 16", "model.training_steps = 3", "model.random_seed = 1",
    "model.eval_steps = 1", "encoder.num_latent = 1", "encoder.encoder_fn = @mlp_encoder",
    "decoder.decoder_fn = @mlp_decoder", "mlp_encoder.hidden_units = (8,)",
    "mlp_decoder.hidden_units = (8,)", "reconstruction_loss.loss_fn = @l2_loss",
    "reconstruction_loss.activation = 'linear'", "vae_optimizer.optimizer_fn = @vae/AdamOptimizer",
]


@pytest.fixture(scope="module")
def conv_model_dir(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp("export") / "conv")
  train.train_with_gin(model_dir, gin_bindings=TINY_CONV,
                       options=train.LoopOptions(progress=False))
  return model_dir


@pytest.fixture(scope="module")
def circle_model_dir(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp("export") / "circle")
  train.train_with_gin(model_dir, gin_bindings=TINY_CIRCLE,
                       options=train.LoopOptions(progress=False))
  return model_dir


def _hub(model_dir):
  return os.path.join(model_dir, "model", "tfhub")


def test_signatures_have_dlibs_names_and_any_batch_size(conv_model_dir):
  loaded = tf.saved_model.load(_hub(conv_model_dir))
  assert set(loaded.signatures) == {"gaussian_encoder", "decoder", "reconstructions"}
  encoder = loaded.signatures["gaussian_encoder"]
  assert encoder.structured_input_signature[1]["images"].shape.as_list() == [None, 64, 64, 1]
  for batch in (1, 7):
    out = encoder(images=tf.zeros([batch, 64, 64, 1]))
    assert out["mean"].shape == (batch, 3) and out["logvar"].shape == (batch, 3)
  decoded = loaded.signatures["decoder"](latent_vectors=tf.zeros([5, 3]))["images"]
  assert decoded.shape == (5, 64, 64, 1)
  recon = loaded.signatures["reconstructions"](images=tf.zeros([2, 64, 64, 1]))["images"]
  assert recon.shape == (2, 64, 64, 1)
  info = json.loads(loaded.infofrag_info.numpy().decode())
  assert info["observation_shape"] == [64, 64, 1] and info["num_latent"] == 3
  assert info["decoder_output"] == "logits" and info["method"] == "vae"
  asset = os.path.join(_hub(conv_model_dir), "assets", export_lib.INFO_ASSET_NAME)
  with open(asset) as f:
    assert json.load(f) == info


def test_circle_export_takes_vectors(circle_model_dir):
  loaded = tf.saved_model.load(_hub(circle_model_dir))
  points = np.stack([np.cos(np.linspace(0, 6, 9)), np.sin(np.linspace(0, 6, 9))], 1)
  out = loaded.signatures["gaussian_encoder"](images=tf.constant(points, tf.float32))
  assert out["mean"].shape == (9, 1)
  assert loaded.signatures["decoder"](latent_vectors=tf.zeros([4, 1]))["images"].shape == (4, 2)
  config = results_lib.gin_dict(
      open(os.path.join(circle_model_dir, "model", "results", "gin", "train.gin")).read())
  assert config["mlp_encoder.hidden_units"] == "(8,)"
  assert config["reconstruction_loss.activation"] == "'linear'"


def test_loaded_models_decode_images_by_their_recorded_output_type(conv_model_dir,
                                                                  circle_model_dir):
  from infofrag.zoo import saved_model
  conv = saved_model.load_model(conv_model_dir)
  assert conv.decoder_output == "logits"
  latents = np.random.RandomState(0).normal(size=(4, 3))
  np.testing.assert_allclose(conv.decode_images(latents),
                             1 / (1 + np.exp(-conv.decode(latents).astype(np.float64))), rtol=1e-6)
  circle = saved_model.load_model(circle_model_dir)
  assert circle.decoder_output == "linear"  # raw outputs: clipped, not squashed by a sigmoid
  raw = circle.decode(np.array([[0.0], [3.0]]))
  np.testing.assert_allclose(circle.decode_images(np.array([[0.0], [3.0]])), np.clip(raw, 0, 1))


def test_loads_in_a_process_without_infofrag(conv_model_dir, tmp_path):
  images = np.random.RandomState(0).rand(3, 64, 64, 1).astype(np.float32)
  np.save(tmp_path / "images.npy", images)
  expected = tf.saved_model.load(_hub(conv_model_dir)).signatures["gaussian_encoder"](
      images=tf.constant(images))["mean"].numpy()
  script = textwrap.dedent(f"""
      import sys
      sys.path.append({sysconfig.get_paths()['purelib']!r})  # no .pth files: no editable install
      try:
        import infofrag
        print("INFOFRAG_IMPORTABLE")
      except ImportError:
        pass
      import numpy as np, tensorflow as tf, tensorflow_hub as hub
      images = tf.constant(np.load({str(tmp_path / 'images.npy')!r}))
      plain = tf.saved_model.load({_hub(conv_model_dir)!r})
      mean = plain.signatures["gaussian_encoder"](images=images)["mean"].numpy()
      hub_mean = hub.load({_hub(conv_model_dir)!r}).signatures["gaussian_encoder"](
          images=images)["mean"].numpy()
      np.save({str(tmp_path / 'mean.npy')!r}, mean)
      np.save({str(tmp_path / 'hub_mean.npy')!r}, hub_mean)
  """)
  env = {"PATH": os.environ.get("PATH", ""), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path)}
  done = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "INFOFRAG_IMPORTABLE" not in done.stdout
  np.testing.assert_allclose(np.load(tmp_path / "mean.npy"), expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.load(tmp_path / "hub_mean.npy"), expected, rtol=1e-5, atol=1e-6)


def test_drop_collections_is_rejected_for_tf2_exports():
  with pytest.raises(ValueError, match="drop_collections"):
    export_lib.export_as_tf_hub(None, "/nonexistent", {}, drop_collections=["summaries"])
