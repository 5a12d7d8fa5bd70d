"""infofrag_train's command line, the dlib results writer and the study sweep."""

import json
import os
import subprocess
import sys

import gin
import pytest

from infofrag.training import study
from infofrag.training import train
from infofrag.utils import paths
from infofrag.utils import results as results_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The installed infofrag_train console script runs infofrag.cli.train:main.
TRAIN = [sys.executable, "-m", "infofrag.cli.train"]


def _run(args, cwd):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(TRAIN + args, cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


def test_help_does_not_import_tensorflow():
  code = ("import sys; from infofrag.cli import train; train.build_parser().format_help(); "
          "print('tensorflow' in sys.modules)")
  done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
  assert done.stdout.strip() == "False"
  usage = subprocess.run(TRAIN + ["--help"], capture_output=True, text=True,
                         timeout=60)
  assert usage.returncode == 0 and "--gin_bindings" in usage.stdout and "--resume" in usage.stdout


@pytest.mark.slow  # 16 s; the circle config trains in test_training_workers.py too
def test_cli_trains_the_circle_config_with_overrides(tmp_path):
  config = paths.gin_config_path("circle", "beta_vae_circle.gin")
  model_dir = tmp_path / "circle"
  args = [f"--gin_config={config}", "--gin_bindings=model.training_steps = 4",
          "--gin_bindings=model.batch_size = 64", "--gin_bindings=model.eval_steps = 1",
          "--gin_bindings=mlp_encoder.hidden_units = (16,)", f"--model_dir={model_dir}", "--no_progress"]
  done = _run(args, tmp_path)
  assert done.returncode == 0, done.stderr[-2000:]
  with open(model_dir / "model" / "results" / "json" / "train_config.json") as f:
    config_values = json.load(f)
  assert config_values["vae.beta"] == "0.03" and config_values["encoder.num_latent"] == "1"
  assert config_values["model.training_steps"] == "4"
  assert (model_dir / "model" / "tfhub" / "saved_model.pb").exists()


def test_cli_refuses_an_existing_model_dir(tmp_path):
  (tmp_path / "m").mkdir()
  (tmp_path / "m" / "keep.txt").write_text("old model")
  config = paths.gin_config_path("quick", "vae.gin")
  done = _run([f"--gin_config={config}", f"--model_dir={tmp_path / 'm'}"], tmp_path)
  assert done.returncode == 1
  assert done.stderr.strip().splitlines()[-1].startswith(
      "infofrag_train: error: model directory")
  assert os.listdir(tmp_path / "m") == ["keep.txt"]


def test_cli_typo_is_one_line_error_and_writes_nothing(tmp_path):
  config = paths.gin_config_path("quick", "vae.gin")
  done = _run([f"--gin_config={config}", "--gin_bindings=vae.betaa = 2.",
               f"--model_dir={tmp_path / 'm'}"], tmp_path)
  assert done.returncode == 1
  last = done.stderr.strip().splitlines()[-1]
  assert last.startswith("infofrag_train: error: bad gin configuration:") and "betaa" in last
  assert not any(name != "home" for name in os.listdir(tmp_path))


def test_update_result_directory_writes_dlibs_layout(tmp_path):
  gin_text = "# Parameters for vae:\n# ===\nvae.beta = 4.0\nmodel.name = 'beta_vae'\n"
  train_dir = tmp_path / "model" / "results"
  results_lib.update_result_directory(str(train_dir), "train", {"loss": 2.5, "global_step": 3},
                                      operative_config=gin_text)
  eval_dir = tmp_path / "metrics" / "mean" / "mig" / "results"
  written = results_lib.update_result_directory(str(eval_dir), "evaluation",
                                                {"discrete_mig": 0.25}, str(train_dir),
                                                operative_config="evaluation.name = 'mig'\n")
  assert set(written) == {"discrete_mig", "uuid"}
  assert sorted(os.listdir(eval_dir / "json")) == [
      "evaluation_config.json", "evaluation_results.json", "train_config.json",
      "train_results.json"]
  with open(eval_dir / "aggregate" / "evaluation.json") as f:
    aggregate = json.load(f)
  assert aggregate["train_config.vae.beta"] == "4.0"
  assert aggregate["train_results.loss"] == 2.5
  assert aggregate["evaluation_results.discrete_mig"] == 0.25
  assert aggregate["evaluation_config.evaluation.name"] == "'mig'"
  assert (eval_dir / "gin" / "train.gin").read_text() == gin_text


def test_study_numbering_matches_dlibs_zoo():
  model = study.get_model(250)
  assert (model.dataset, model.method, model.hyperparameter, model.value, model.seed) == \
      ("dsprites_full", "beta_vae", "vae.beta", 16.0, 0)
  assert "vae.beta = 16.0" in model.bindings and "model.model_num = 250" in model.bindings
  assert (study.get_model(300).method, study.get_model(300).value) == ("factor_vae", 10.0)
  dip_ii = study.get_model(3 * 300 + 2 * 50 + 7)
  assert (dip_ii.method, dip_ii.value, dip_ii.seed) == ("dip_vae_ii", 5.0, 7)
  assert "dip_vae.dip_type = 'ii'" in dip_ii.bindings
  assert study.get_model(1800).dataset == "color_dsprites"
  assert study.num_models() == 12600
  assert len(study.list_models(dataset="dsprites_full", seeds=[0])) == 36
  with pytest.raises(ValueError, match=r"model_num must be in \[0, 12600\)"):
    study.get_model(12600)


@pytest.mark.parametrize("model_num", [0, 300, 650, 1000, 1250, 1750])
def test_study_bindings_parse_with_shared_config(model_num):
  model = study.get_model(model_num)
  gin.clear_config()
  try:
    train.parse_gin([model.config_file], model.bindings)
    assert gin.query_parameter("model.model_num") == model_num
    assert gin.query_parameter(model.hyperparameter) == model.value
    assert gin.query_parameter("model.training_steps") == 300000
  finally:
    gin.clear_config()


@pytest.mark.parametrize("config", sorted(
    os.path.join(folder, name) for folder in ("models", "quick", "circle")
    for name in os.listdir(os.path.join(REPO, "gin_configs", folder))))
def test_shipped_configs_parse(config):
  gin.clear_config()
  try:
    train.parse_gin([os.path.join(REPO, "gin_configs", config)], [])
    assert gin.query_parameter("model.batch_size") >= 1
  finally:
    gin.clear_config()


def test_study_cli_lists_models():
  done = subprocess.run([sys.executable, "-m", "infofrag.cli.study", "--list",
                         "--dataset", "dsprites_full", "--seeds", "0-1", "--method", "beta_vae"],
                        capture_output=True, text=True, timeout=60)
  lines = done.stdout.strip().splitlines()
  assert lines[0].startswith("model_num") and len(lines) == 1 + 12
  assert lines[-1].split("\t")[:3] == ["251", "dsprites_full", "beta_vae"]


@pytest.mark.slow
def test_quick_vae_config_learns_positions(tmp_path):
  """The shipped quick config gives a model whose means linearly predict x and y."""
  import numpy as np
  import tensorflow as tf
  from infofrag.data import named_data
  model_dir = tmp_path / "quick"
  done = _run([f"--gin_config={paths.gin_config_path('quick', 'vae.gin')}",
               f"--model_dir={model_dir}", "--no_progress"], tmp_path)
  assert done.returncode == 0, done.stderr[-2000:]
  encoder = tf.saved_model.load(str(model_dir / "model" / "tfhub")).signatures["gaussian_encoder"]
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  factors, images = data.sample(1000, np.random.RandomState(7))
  means = encoder(images=tf.constant(images))["mean"].numpy()
  design = np.c_[means, np.ones(len(means))]
  for column in (3, 4):  # x and y position
    target = factors[:, column].astype(float)
    fit = design @ np.linalg.lstsq(design, target, rcond=None)[0]
    r_squared = 1 - np.var(target - fit) / np.var(target)
    assert r_squared > 0.5
