"""`infofrag_evaluate` on single models: dlib's result layout, parity with the array
functions, reuse, representations, and clear errors for broken inputs."""

import json
import os

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.data import named_data
from infofrag.evaluation import evaluate
from infofrag.evaluation import representation
from infofrag.metrics import mig
from infofrag.metrics import utils as metric_utils
from infofrag.zoo import saved_model
from tests.helpers import tf1_hub

SMALL_MIG = ["mig.num_train = 300"]


def _linear_model(path, seed=0, dataset="synthetic_dsprites", nan_outputs=False):
  weights = np.random.RandomState(seed).normal(0, 0.02, size=(64 * 64, 3)).astype(np.float32)
  bindings = {"dataset.name": f"'{dataset}'", "model.model": "@vae()", "model.name": "'beta_vae'",
              "vae.beta": "2.0", "model.random_seed": str(seed), "encoder.num_latent": "3"}
  return tf1_hub.build_tf1_hub_model(path, weights, logvar_value=-3.0, bindings=bindings,
                                     nan_outputs=nan_outputs)


@pytest.fixture(scope="module", name="model_dir")
def fixture_model_dir(tmp_path_factory):
  return _linear_model(str(tmp_path_factory.mktemp("models") / "0"))


def test_results_are_written_in_dlib_layout_and_equal_the_array_function(model_dir):
  run = evaluate.evaluate_model(model_dir, "mig", gin_bindings=SMALL_MIG, overwrite=True)
  results_dir = os.path.join(model_dir, "metrics", "mean", "mig", "results")
  assert run.results_dir == results_dir and not run.reused
  for relative in ["json/evaluation_results.json", "json/evaluation_config.json",
                   "gin/evaluation.gin", "aggregate/evaluation.json", "json/train_config.json"]:
    assert os.path.exists(os.path.join(results_dir, relative)), relative
  with open(os.path.join(results_dir, "aggregate", "evaluation.json")) as f:
    aggregate = json.load(f)
  assert aggregate["evaluation_results.discrete_mig"] == run.results["discrete_mig"]
  assert aggregate["train_config.vae.beta"] == "2.0"  # training results carried along, as dlib
  assert "elapsed_time" in run.results and "uuid" in run.results
  with open(os.path.join(results_dir, "json", "evaluation_config.json")) as f:
    config = json.load(f)
  assert config["dataset.name"] == "'synthetic_dsprites'"  # "auto" resolved from train.gin
  assert config["mig.num_train"] == "300"
  # The same sample (seed 0, batches of 16) through the array-level function.
  model = saved_model.load_model(model_dir)
  codes, factors = metric_utils.generate_batch_factor_code(
      named_data.get_named_ground_truth_data("synthetic_dsprites"),
      representation.make_representation_function(model, "mean"), 300,
      np.random.RandomState(0), 16)
  assert mig.compute_mig(codes, factors)["discrete_mig"] == pytest.approx(
      run.results["discrete_mig"], abs=1e-12)


def test_existing_results_are_reused_unless_overwrite(model_dir):
  first = evaluate.evaluate_model(model_dir, "mig", gin_bindings=SMALL_MIG)
  again = evaluate.evaluate_model(model_dir, "mig", gin_bindings=SMALL_MIG)
  assert again.reused and again.results["uuid"] == first.results["uuid"]
  fresh = evaluate.evaluate_model(model_dir, "mig", gin_bindings=SMALL_MIG, overwrite=True)
  assert not fresh.reused and fresh.results["uuid"] != first.results["uuid"]
  assert fresh.results["discrete_mig"] == pytest.approx(first.results["discrete_mig"], abs=1e-12)
  leftovers = [n for n in os.listdir(os.path.dirname(fresh.results_dir)) if n.startswith(".")]
  assert not leftovers  # the atomic write left no temporary folder


def test_sampled_representation_goes_to_its_own_folder(model_dir):
  run = evaluate.evaluate_model(model_dir, "mig", representation="sampled", gin_bindings=SMALL_MIG,
                                overwrite=True)
  assert os.sep.join(["metrics", "sampled", "mig", "results"]) in run.results_dir
  mean_run = evaluate.evaluate_model(model_dir, "mig", gin_bindings=SMALL_MIG)
  assert run.results["discrete_mig"] != mean_run.results["discrete_mig"]


def test_cli_continues_past_broken_models_and_reports_them(tmp_path, capsys):
  good = _linear_model(str(tmp_path / "good"))
  no_tfhub = str(tmp_path / "no_tfhub")
  tf1_hub.write_dlib_train_results(no_tfhub, {"dataset.name": "'synthetic_dsprites'",
                                              "model.model": "@vae()"})
  diverged = _linear_model(str(tmp_path / "diverged"), nan_outputs=True)
  wrong_data = _linear_model(str(tmp_path / "wrong_data"), dataset="circle")
  code = evaluate_cli.main([f"--model_dir={good}", f"--model_dir={no_tfhub}",
                            f"--model_dir={diverged}", f"--model_dir={wrong_data}",
                            "--metrics=mig", f"--gin_bindings={SMALL_MIG[0]}"])
  out = capsys.readouterr().out
  assert code == 1
  assert os.path.exists(os.path.join(good, "metrics", "mean", "mig", "results", "json",
                                     "evaluation_results.json"))
  assert f"FAILED {no_tfhub}: {no_tfhub}: no saved model" in out
  assert f"FAILED {diverged}" in out and "NaN or inf" in out
  assert f"FAILED {wrong_data}" in out and "shape [64, 64, 1]" in out
  assert "1 model(s) evaluated, 3 failed; results in each model" in out


def test_cli_argument_errors(tmp_path, capsys):
  model = _linear_model(str(tmp_path / "m"))
  assert evaluate_cli.main([f"--model_dir={model}", "--gin_bindings=mig.num_train = 5000000"]) == 2
  assert "mig.num_train must be between 1 and 1,000,000" in capsys.readouterr().err
  assert evaluate_cli.main([f"--model_dir={model}", "--metrics=mig,nope"]) == 2
  assert "Unknown metric 'nope'" in capsys.readouterr().err
  assert evaluate_cli.main([f"--model_dirs={tmp_path}/zz*"]) == 2
  assert "no model directories" in capsys.readouterr().err


def test_dataset_binding_overrides_auto(tmp_path):
  model = _linear_model(str(tmp_path / "m"), dataset="dsprites_full")  # files absent here
  run = evaluate.evaluate_model(model, "mig", gin_bindings=SMALL_MIG + [
      "dataset.name = 'synthetic_dsprites'"])
  assert 0.0 <= run.results["discrete_mig"] <= 1.0
  with pytest.raises(Exception, match="dsprites"):  # auto -> dsprites_full -> missing file
    evaluate.evaluate_model(str(tmp_path / "m"), "mig", gin_bindings=SMALL_MIG, overwrite=True)
