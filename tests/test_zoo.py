"""Reading model directories: configs (dlib's and infofrag's) and both SavedModel formats."""

import os

import numpy as np
import pytest

from infofrag.utils import gin_text
from infofrag.zoo import model_info
from infofrag.zoo import saved_model
from tests.helpers import tf1_hub

DLIB_TRAIN_GIN = """\
# Parameters for vae/AdamOptimizer:
# ==============================================================================
vae/AdamOptimizer.beta1 = 0.9
vae/AdamOptimizer.learning_rate = 0.0001
vae/AdamOptimizer.name = 'Adam'

# Parameters for dataset:
# ==============================================================================
dataset.name = 'dsprites_full'

# Parameters for dip_vae:
# ==============================================================================
dip_vae.dip_type = 'ii'
dip_vae.lambda_d_factor = 1.0
dip_vae.lambda_od = 20.0

# Parameters for encoder:
# ==============================================================================
encoder.encoder_fn = @conv_encoder
encoder.num_latent = 10

# Parameters for model:
# ==============================================================================
model.model = @dip_vae()
model.random_seed = 7
model.training_steps = 300000
mlp.hidden = (256,
    256)
"""


def _write_gin_only_model(root, name, text):
  model_dir = os.path.join(root, name)
  os.makedirs(os.path.join(model_dir, "model", "results", "gin"))
  with open(os.path.join(model_dir, "model", "results", "gin", "train.gin"), "w") as f:
    f.write(text)
  return model_dir


def test_parse_gin_text_reads_dlib_operative_config():
  bindings = gin_text.parse_gin_text(DLIB_TRAIN_GIN)
  assert bindings["vae/AdamOptimizer.name"] == "'Adam'"
  assert bindings["model.model"] == "@dip_vae()"
  assert bindings["mlp.hidden"] == "(256, 256)"
  assert gin_text.parse_value(bindings["mlp.hidden"]) == (256, 256)
  assert gin_text.parse_value("4.") == 4.0


def test_model_info_from_gin_only_dlib_model(tmp_path):
  model_dir = _write_gin_only_model(str(tmp_path), "1234", DLIB_TRAIN_GIN)
  info = model_info.read_model_info(model_dir)
  assert (info.method, info.method_label) == ("dip_vae", "dip_vae_ii")
  assert (info.hyperparameter, info.hyperparameter_value) == ("dip_vae.lambda_od", 20.0)
  assert (info.seed, info.dataset, info.num_latent, info.name) == (7, "dsprites_full", 10, "1234")


def test_model_info_prefers_json_config_and_reads_dlib_names(tmp_path):
  model_dir = str(tmp_path / "250")
  tf1_hub.write_dlib_train_results(model_dir, {
      "model.model": "@vae()", "model.name": "'beta_vae'", "vae.beta": "16.0",
      "dataset.name": "'shapes3d'", "model.random_seed": "3", "encoder.num_latent": "10"})
  info = model_info.read_model_info(model_dir)
  assert (info.method_label, info.hyperparameter_value, info.seed, info.dataset) == (
      "beta_vae", 16.0, 3, "shapes3d")


def test_missing_config_names_the_directory(tmp_path):
  with pytest.raises(model_info.ModelDirError, match=str(tmp_path)):
    model_info.read_model_info(str(tmp_path))


def test_find_model_dirs_zoo_order_and_globs(tmp_path):
  for name in ["10", "2", "1"]:
    os.makedirs(tmp_path / "zoo" / name / "model" / "tfhub")
  os.makedirs(tmp_path / "zoo" / "notes")  # not a model: ignored
  found = model_info.find_model_dirs(zoo=str(tmp_path / "zoo"))
  assert [os.path.basename(p) for p in found] == ["1", "2", "10"]
  found = model_info.find_model_dirs(patterns=[str(tmp_path / "zoo" / "1*")])
  assert [os.path.basename(p) for p in found] == ["1", "10"]
  with pytest.raises(FileNotFoundError, match="--zoo"):
    model_info.find_model_dirs(zoo=str(tmp_path / "nope"))


def test_dlib_tf1_hub_module_is_read_and_encodes_exactly(tmp_path):
  weights = np.random.RandomState(0).normal(0, 0.01, size=(64 * 64, 3)).astype(np.float32)
  model_dir = tf1_hub.build_tf1_hub_model(str(tmp_path / "0"), weights, logvar_value=-1.5)
  model = saved_model.load_model(model_dir)
  assert model.format == "tf1_hub"
  assert (model.input_shape, model.num_latent) == ([64, 64, 1], 3)
  images = np.random.RandomState(1).rand(70, 64, 64, 1).astype(np.float32)
  mean, logvar = model.encode(images, batch_size=32)  # several batches, ragged last one
  np.testing.assert_allclose(mean, images.reshape(70, -1) @ weights, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(logvar, -1.5)
  decoded = model.decode(mean[:4])
  assert decoded.shape == (4, 64, 64, 1)


def test_missing_tfhub_and_missing_signature_are_clear(tmp_path):
  with pytest.raises(saved_model.ModelLoadError, match=r"no saved model at .*model/tfhub"):
    saved_model.load_model(str(tmp_path))
  weights = np.zeros((64 * 64, 2), np.float32)
  model_dir = tf1_hub.build_tf1_hub_model(str(tmp_path / "m"), weights, encoder_signature="encode")
  with pytest.raises(saved_model.ModelLoadError, match=r"no 'gaussian_encoder' signature.*encode"):
    saved_model.load_model(model_dir)


def test_nan_outputs_and_wrong_shapes_are_rejected(tmp_path):
  weights = np.ones((64 * 64, 2), np.float32)
  model = saved_model.load_model(
      tf1_hub.build_tf1_hub_model(str(tmp_path / "nan"), weights, nan_outputs=True))
  with pytest.raises(saved_model.ModelLoadError, match="NaN or inf"):
    model.encode(np.ones((2, 64, 64, 1), np.float32))
  with pytest.raises(saved_model.ModelLoadError, match=r"shape \[64, 64, 1\].*\[2\]"):
    model.check_observation_shape([2])
