"""dlib's unsupervised workflow: train, postprocess, evaluate, aggregate, visualize, reproduce.

The fast tests share one tiny model (an MLP beta-VAE on synthetic_dsprites_32, 3 steps)
trained in this process with dlib_train's flags; the shell script of dlib's README
workflow (bin/ on PATH, one process per command) is the slow test.
"""

import glob
import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from infofrag.cli import common
from infofrag.cli import dlib_compat
from infofrag.cli import postprocess as postprocess_cli
from infofrag.cli import reproduce_study as reproduce_study_cli
from infofrag.cli import visualize_model as visualize_model_cli
from infofrag.utils import paths
from tests.helpers import tf1_hub

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
TINY_MODEL = ["model.training_steps = 3", "model.batch_size = 8", "model.eval_steps = 1",
              "mlp_encoder.hidden_units = (16,)", "mlp_decoder.hidden_units = (16,)"]
DLIB_COMMANDS = ("dlib_train", "dlib_postprocess", "dlib_evaluate", "dlib_reproduce",
                 "dlib_aggregate_results", "dlib_visualize_model", "dlib_udr")


def _gin(*parts):
  return paths.gin_config_path(*parts)


def _read_json(path):
  with open(path) as f:
    return json.load(f)


def _one_error_line(capsys, program):
  """The captured stderr, checked to be one line 'PROGRAM: error: ...'."""
  lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
  assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), lines
  return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A dlib model folder ROOT/0/model trained by dlib_train's flags (3 steps)."""
  root = tmp_path_factory.mktemp("dlib_workflow")
  argv = [f"--gin_config={_gin('quick32', 'vae.gin')}", f"--model_dir={root / '0' / 'model'}"]
  argv += [f"--gin_bindings={binding}" for binding in TINY_MODEL]
  assert dlib_compat.train_main(argv) == 0
  return root


@pytest.fixture(scope="module")
def mean_representation(trained):
  """ROOT/0/postprocessed/mean from dlib_postprocess's flags."""
  output = trained / "0" / "postprocessed" / "mean"
  assert postprocess_cli.dlib_main([f"--model_dir={trained / '0' / 'model'}",
                                       f"--output_dir={output}",
                                       f"--gin_config={_gin('postprocess', 'mean.gin')}"]) == 0
  return output


def _observations(count=20):
  from infofrag.data import named_data
  data = named_data.get_named_ground_truth_data("synthetic_dsprites_32")
  return data.sample_observations(count, np.random.RandomState(5))


def _representation(folder):
  from infofrag.zoo import representation
  return representation.LoadedRepresentation(str(folder))


def test_dlib_train_writes_the_model_folder_itself(trained):
  folder = trained / "0" / "model"
  assert sorted(os.listdir(trained / "0")) == ["model"]  # nothing hidden left beside it
  assert {"tfhub", "results", "tf_checkpoint", "logs"} <= set(os.listdir(folder))
  config = _read_json(folder / "results" / "json" / "train_config.json")
  assert config["model.training_steps"] == "3"
  assert config["dataset.name"] == "'synthetic_dsprites_32'"


def test_postprocess_mean_equals_the_encoder_mean(trained, mean_representation):
  from infofrag.zoo import saved_model
  x = _observations()
  mean, _ = saved_model.load_model(str(trained / "0")).encode(x)
  codes = _representation(mean_representation)(x)
  np.testing.assert_array_equal(codes, mean.astype(np.float64))
  results = mean_representation / "results"
  for step in ("train", "postprocess"):  # the model's results copied, then the step's own
    assert (results / "gin" / f"{step}.gin").exists()
    assert (results / "aggregate" / f"{step}.json").exists()
  config = _read_json(results / "json" / "postprocess_config.json")
  assert config["dataset.name"] == "'synthetic_dsprites_32'"  # "auto" resolved
  assert config["postprocess.postprocess_fn"] == "@mean_representation"
  aggregate = _read_json(results / "aggregate" / "postprocess.json")
  assert "train_config.vae.beta" in aggregate and "postprocess_results.elapsed_time" in aggregate


def test_sampled_representation_is_reproducible_for_a_seed(trained):
  from infofrag.postprocessing import postprocess
  from infofrag.zoo import saved_model
  out = trained / "sampled_seeds"
  for name, seed in (("a", 3), ("b", 3), ("c", 4)):
    postprocess.postprocess_with_gin(str(trained / "0" / "model"), str(out / name),
                                     gin_config_files=[_gin("postprocess", "sampled.gin")],
                                     gin_bindings=[f"postprocess.random_seed = {seed}"])
  x = _observations()
  first = {name: _representation(out / name)(x) for name in "abc"}
  again = _representation(out / "a")
  np.testing.assert_array_equal(first["a"], first["b"])       # same seed, same draws
  np.testing.assert_array_equal(again(x), first["a"])          # a fresh load starts over
  assert not np.array_equal(again(x), first["a"])              # later calls draw anew
  assert not np.array_equal(first["a"], first["c"])            # another seed, other draws
  mean, logvar = saved_model.load_model(str(trained / "0")).encode(x)
  noise = (first["a"] - mean) / np.exp(logvar / 2.0)
  assert np.all(np.isfinite(noise)) and 0.5 < noise.std() < 1.5  # mean + sd * N(0, 1)


def test_evaluate_input_dir_equals_model_dir_mig(trained, mean_representation, capsys):
  from infofrag.cli import evaluate
  sizes = "--gin_bindings=mig.num_train = 300"
  output = trained / "dlib_eval" / "mig"
  assert evaluate.main([f"--input_dir={mean_representation}", f"--output_dir={output}",
                        f"--gin_config={_gin('evaluate', 'mig.gin')}", sizes]) == 0
  assert evaluate.main([f"--model_dir={trained / '0'}", "--metrics=mig", sizes,
                        "--no_progress"]) == 0
  capsys.readouterr()
  by_input = _read_json(output / "results" / "json" / "evaluation_results.json")
  by_model = _read_json(trained / "0" / "metrics" / "mean" / "mig" / "results" / "json" /
                        "evaluation_results.json")
  assert by_input["discrete_mig"] == by_model["discrete_mig"]
  aggregate = _read_json(output / "results" / "aggregate" / "evaluation.json")
  assert aggregate["evaluation_config.dataset.name"] == "'synthetic_dsprites_32'"
  assert {"train_config.model.name", "postprocess_config.postprocess.postprocess_fn",
          "evaluation_results.discrete_mig"} <= set(aggregate)


def test_evaluate_glob_then_aggregate_gives_dlibs_dataframe(trained, mean_representation,
                                                            tmp_path):
  configs = tmp_path / "configs"
  configs.mkdir()
  (configs / "mig.gin").write_text(
      "evaluation.evaluation_fn = @mig\ndataset.name = 'auto'\nevaluation.random_seed = 0\n"
      "mig.num_train = 200\ndiscretizer.discretizer_fn = @histogram_discretizer\n"
      "discretizer.num_bins = 20\n")
  (configs / "unsupervised.gin").write_text(
      "evaluation.evaluation_fn = @unsupervised_metrics\ndataset.name = 'auto'\n"
      "evaluation.random_seed = 0\nunsupervised_metrics.num_train = 200\n"
      "discretizer.discretizer_fn = @histogram_discretizer\ndiscretizer.num_bins = 20\n")
  root = tmp_path / "zoo"
  shutil.copytree(mean_representation, root / "0" / "postprocessed" / "mean")
  assert dlib_compat.evaluate_main([f"--input_dir={root / '0' / 'postprocessed' / 'mean'}",
                                    f"--output_dir={root / '0' / 'metrics' / 'mean'}",
                                    f"--gin_evaluation_config_glob={configs}/*.gin"]) == 0
  assert sorted(os.listdir(root / "0" / "metrics" / "mean")) == ["mig", "unsupervised"]
  output = tmp_path / "results.json"
  pattern = f"{root}/*/metrics/*/*/results/aggregate/evaluation.json"
  assert dlib_compat.aggregate_results_main([f"--result_file_pattern={pattern}",
                                             f"--output_path={output}"]) == 0
  frame = pd.read_json(output, orient="columns")
  assert len(frame) == 2
  assert {"path", "train_config.model.name", "train_results.loss",
          "postprocess_config.postprocess.postprocess_fn", "evaluation_config.evaluation.name",
          "evaluation_results.discrete_mig", "evaluation_results.elapsed_time"} <= set(frame)
  assert sorted(frame["evaluation_config.evaluation.name"]) == ["'mig'", "'unsupervised'"]


def test_visualize_model_writes_dlibs_files(trained, capsys):
  from PIL import Image
  from infofrag.visualize import visualize_model
  output = trained / "0" / "visualizations"
  written = visualize_model.visualize(str(trained / "0" / "model"), str(output),
                                      num_animations=1, num_frames=3)
  expected = {"reconstructions/reconstructions.jpg", "sampled/samples.jpg"}
  expected |= {f"traversals/traversals{i}.jpg" for i in range(10)}
  expected |= {f"animated_traversals/{kind}0.gif" for kind in visualize_model.ANIMATION_KINDS}
  assert set(written) == expected
  assert Image.open(output / "reconstructions" / "reconstructions.jpg").size == (8 * 64, 8 * 32)
  assert Image.open(output / "traversals" / "traversals0.jpg").size == (10 * 32, 10 * 32)
  gif = Image.open(output / "animated_traversals" / "std_gaussian_cycle0.gif")
  assert gif.n_frames == 3 and gif.size == (5 * 32 + 4 * 10 + 20, 2 * 32 + 10 + 20)
  assert not [name for name in os.listdir(trained / "0") if name.startswith(".")]
  # dlib's rule: an existing output folder needs --overwrite; nothing is touched.
  before = os.path.getmtime(output / "sampled" / "samples.jpg")
  assert visualize_model_cli.dlib_main([f"--model_dir={trained / '0' / 'model'}",
                                        f"--output_dir={output}"]) == 2
  assert "--overwrite" in _one_error_line(capsys, "dlib_visualize_model")
  assert os.path.getmtime(output / "sampled" / "samples.jpg") == before


def test_latent_cycles_start_at_the_code_and_stay_in_range():
  from infofrag.visualize import images
  values = images.cycle_interval(0.5, 20, -2.0, 2.0)
  assert values[0] == pytest.approx(0.5) and values.min() >= -2.0 and values.max() <= 2.0
  assert values.max() == pytest.approx(2.0, abs=0.5) and values.min() < -1.5
  quantiles = images.cycle_gaussian(0.0, 20)
  assert quantiles[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.abs(quantiles) < 3.1)
  assert [images.grid_rows(n) for n in (1, 3, 10, 12, 7)] == [1, 1, 2, 3, 2]


def test_bad_flags_are_one_line_errors(trained, mean_representation, tmp_path, capsys):
  from infofrag.cli import evaluate
  from infofrag.cli import postprocess
  model = trained / "0" / "model"
  out = tmp_path / "out"
  assert postprocess_cli.dlib_main([f"--model_dir={model}"]) == 2
  assert "--output_dir is required" in _one_error_line(capsys, "dlib_postprocess")
  assert postprocess.main([f"--model_dir={model}", f"--output_dir={out}"]) == 2
  assert "postprocess.postprocess_fn" in _one_error_line(capsys, "infofrag_postprocess")
  assert postprocess.main([f"--model_dir={tmp_path}", f"--output_dir={out}",
                           "--representation=mean"]) == 2
  assert f"--model_dir={tmp_path}: no trained model" in _one_error_line(
      capsys, "infofrag_postprocess")
  assert postprocess.main([f"--model_dir={model}", f"--output_dir={out}",
                           "--representation=mean", "--gin_bindings=postprocess.seeed = 1"]) == 2
  assert "bad gin configuration" in _one_error_line(capsys, "infofrag_postprocess")
  assert dlib_compat.evaluate_main([f"--input_dir={model}", f"--output_dir={out}",
                                    f"--gin_config={_gin('evaluate', 'mig.gin')}"]) == 2
  assert "is a trained model, not a representation" in _one_error_line(capsys, "dlib_evaluate")
  assert dlib_compat.evaluate_main([f"--input_dir={tmp_path}", f"--output_dir={out}",
                                    f"--gin_config={_gin('evaluate', 'mig.gin')}"]) == 2
  assert "no representation there" in _one_error_line(capsys, "dlib_evaluate")
  assert evaluate.main([f"--input_dir={mean_representation}", f"--output_dir={out}"]) == 2
  assert "evaluation.evaluation_fn" in _one_error_line(capsys, "infofrag_evaluate")
  assert evaluate.main([f"--input_dir={mean_representation}", f"--output_dir={out}",
                        "--zoo=somewhere", "--metrics=mig"]) == 2
  assert "--zoo does not apply with --input_dir" in _one_error_line(capsys, "infofrag_evaluate")
  assert evaluate.main([f"--input_dir={mean_representation}", f"--output_dir={out}",
                        "--gin_config=missing.gin"]) == 2
  assert "--gin_config=missing.gin: file not found" in _one_error_line(capsys,
                                                                       "infofrag_evaluate")
  assert dlib_compat.train_main([f"--gin_config={_gin('quick32', 'vae.gin')}",
                                 f"--model_dir={model}"]) == 2
  assert "already exists; pass --overwrite" in _one_error_line(capsys, "dlib_train")
  assert dlib_compat.udr_main(["--output_dir=x"]) == 2
  assert "--model_dirs is required" in _one_error_line(capsys, "dlib_udr")
  with pytest.raises(SystemExit) as exit_info:
    dlib_compat.train_main(["--model_dri=x"])
  assert exit_info.value.code == 2
  assert "dlib_train: error: unrecognized arguments: --model_dri=x" in capsys.readouterr().err
  assert not out.exists()


def test_absl_boolean_forms():
  import argparse
  parser = argparse.ArgumentParser()
  common.add_absl_bool(parser, "overwrite", "")
  for argv, value in (([], False), (["--overwrite"], True), (["--overwrite=false"], False),
                      (["--overwrite=True"], True), (["--nooverwrite"], False)):
    assert parser.parse_args(argv).overwrite is value


def test_dlib_tf1_modules_postprocess_and_evaluate(tmp_path, capsys):
  from infofrag.evaluation import evaluate_representation
  rng = np.random.RandomState(0)
  weights = rng.normal(0, 0.01, (64 * 64, 3)).astype(np.float32)
  bindings = {"dataset.name": "'synthetic_dsprites'", "encoder.num_latent": "3",
              "model.model": "@vae()", "vae.beta": "4.", "model.random_seed": "0"}
  tf1_hub.build_tf1_hub_model(str(tmp_path / "dlib"), weights, bindings=bindings)
  output = tmp_path / "dlib" / "postprocessed" / "mean"
  assert postprocess_cli.dlib_main([f"--model_dir={tmp_path / 'dlib' / 'model'}",
                                       f"--output_dir={output}",
                                       f"--gin_config={_gin('postprocess', 'mean.gin')}"]) == 0
  from infofrag.data import named_data
  x = named_data.get_named_ground_truth_data("synthetic_dsprites").sample_observations(
      6, np.random.RandomState(1))
  expected = x.reshape(6, -1).astype(np.float32) @ weights
  np.testing.assert_allclose(_representation(output)(x), expected, rtol=1e-5, atol=1e-6)
  from infofrag.visualize import visualize_model
  written = visualize_model.visualize(str(tmp_path / "dlib" / "model"),
                                      str(tmp_path / "dlib" / "visualizations"),
                                      num_animations=1, num_frames=2)
  assert "traversals/traversals2.jpg" in written and len(written) == 2 + 3 + 5
  # dlib's own postprocessed folder (a TF1 representation module) is evaluated too.
  tf1_hub.build_tf1_representation(str(tmp_path / "dlib_post"), weights)
  results = evaluate_representation.evaluate_with_gin(
      str(tmp_path / "dlib_post"), str(tmp_path / "dlib_mig"),
      gin_config_files=[_gin("evaluate", "mig.gin")], gin_bindings=["mig.num_train = 100"])
  assert 0.0 <= results["discrete_mig"] <= 1.0
  config = _read_json(tmp_path / "dlib_mig" / "results" / "json" / "evaluation_config.json")
  assert config["dataset.name"] == "'synthetic_dsprites'"
  capsys.readouterr()


def test_reproduce_study_tiny(tmp_path, capsys):
  from infofrag.cli import reproduce_study
  out = tmp_path / "{study}" / "{model_num}"
  argv = ["--model_num=250", f"--output_directory={out}", "--metrics=mig", "--no_progress",
          "--no_visualizations", "--evaluation_gin_bindings=mig.num_train = 100",
          "--gin_bindings=dataset.name = 'synthetic_dsprites_32'",
          "--gin_bindings=encoder.encoder_fn = @mlp_encoder",
          "--gin_bindings=decoder.decoder_fn = @mlp_decoder"]
  argv += [f"--gin_bindings={binding}" for binding in TINY_MODEL]
  assert reproduce_study.main(["--model_num=250", "--only_print"]) == 0
  printed = capsys.readouterr().out
  assert "vae.beta = 16.0" in printed and "sampled/mig" in printed
  assert "downstream_task_boosted_trees.gin" in printed  # every study metric is available
  assert reproduce_study_cli.dlib_main(["--model_num=250", "--only_print", "--nooverwrite"]) == 0
  assert capsys.readouterr().out == printed  # dlib_reproduce: the same program, dlib's flags
  assert not (tmp_path / "unsupervised_study_v1").exists()
  assert reproduce_study.main(argv) == 0
  capsys.readouterr()
  base = tmp_path / "unsupervised_study_v1" / "250"
  assert sorted(os.listdir(base)) == ["metrics", "model", "postprocessed"]
  assert sorted(os.listdir(base / "postprocessed")) == ["mean", "sampled"]
  # dlib's seeds: RandomState(0), one draw per postprocess config, then per (rep, metric).
  draws = np.random.RandomState(0).randint(2**32, size=2 + 2 * 9)
  for index, representation in enumerate(("mean", "sampled")):
    post = _read_json(base / "postprocessed" / representation / "results" / "json" /
                      "postprocess_config.json")
    assert post["postprocess.random_seed"] == str(draws[index])
    assert post["postprocess.name"] == f"'{representation}'"
    evaluation = _read_json(base / "metrics" / representation / "mig" / "results" / "json" /
                            "evaluation_config.json")
    assert evaluation["evaluation.random_seed"] == str(draws[2 + 9 * index + 5])  # mig: 6th
    assert evaluation["evaluation.name"] == "'mig'"
  train = _read_json(base / "model" / "results" / "json" / "train_config.json")
  assert train["model.model_num"] == "250" and train["vae.beta"] == "16.0"
  # Rerun without --overwrite: refused before any work, naming the way to reuse the model.
  assert reproduce_study.main(argv) == 2
  assert "--model_dir=" in _one_error_line(capsys, "infofrag_reproduce_study")


def test_report_links_model_visualizations(tmp_path):
  from infofrag.reports import html_report
  (tmp_path / "a" / "visualizations").mkdir(parents=True)
  (tmp_path / "b").mkdir()
  links = html_report._visualization_links([
      {"model": "a", "model_dir": str(tmp_path / "a")},
      {"model": "b", "model_dir": str(tmp_path / "b")}])
  assert [link["model"] for link in links] == ["a"]
  assert links[0]["href"] == (tmp_path / "a" / "visualizations").as_uri()


def test_bin_scripts_run_from_the_checkout(tmp_path):
  import ast
  names = sorted(os.listdir(BIN))
  with open(os.path.join(ROOT, "setup.py")) as f:
    tree = ast.parse(f.read())
  commands = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and node.targets[0].id == "COMMANDS")
  assert set(DLIB_COMMANDS) | set(commands) == set(names)  # every program, nothing else
  assert {"infofrag_postprocess", "infofrag_visualize_model",
          "infofrag_reproduce_study"} <= set(commands)
  for name in names:
    path = os.path.join(BIN, name)
    assert os.access(path, os.X_OK), name
    with open(path) as f:
      assert f.readline().strip() == "#!/usr/bin/env python3", name
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  done = subprocess.run([os.path.join(BIN, "infofrag_study"), "--model_num=250"],
                        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
  assert done.returncode == 0, done.stderr
  # The checkout's own gin configs, so its own package, whatever is pip-installed.
  assert f"# gin config: {os.path.join(ROOT, 'gin_configs')}" in done.stdout
  done = subprocess.run([os.path.join(BIN, "dlib_aggregate_results"),
                         f"--result_file_pattern={tmp_path}/*.json"],
                        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
  assert done.returncode == 2 and done.stderr.startswith("dlib_aggregate_results: error: ")


@pytest.mark.slow
def test_dlib_readme_workflow_as_a_shell_script(tmp_path):
  """dlib's README workflow, one dlib command per process, with bin/ on PATH."""
  env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=ROOT)
  script = os.path.join(ROOT, "tests", "scripts", "dlib_workflow.sh")
  done = subprocess.run(["bash", script, str(tmp_path / "output")], capture_output=True,
                        text=True, env=env, timeout=900)
  assert done.returncode == 0, done.stdout + done.stderr
  model = tmp_path / "output" / "0"
  assert {"tfhub", "results", "tf_checkpoint"} <= set(os.listdir(model / "model"))
  for representation in ("mean", "sampled"):
    assert (model / "postprocessed" / representation / "tfhub" / "saved_model.pb").exists()
    assert (model / "metrics" / representation / "mig" / "results" / "aggregate" /
            "evaluation.json").exists()
  assert len(glob.glob(str(model / "visualizations" / "animated_traversals" / "*.gif"))) == 25
  assert len(glob.glob(str(model / "visualizations" / "traversals" / "*.jpg"))) == 10
  frame = pd.read_json(tmp_path / "output" / "results.json", orient="columns")
  assert len(frame) == 2
  assert {"path", "train_config.model.name", "train_results.loss",
          "postprocess_config.postprocess.postprocess_fn", "evaluation_config.evaluation.name",
          "evaluation_results.discrete_mig"} <= set(frame)
  assert sorted(frame["postprocess_config.postprocess.postprocess_fn"]) == [
      "@mean_representation", "@sampled_representation"]


def test_dlib_udr_scores_a_group_of_dlib_model_folders(tmp_path):
  from tests.helpers import tf1_hub
  bindings = {"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
              "vae.beta": "2.0", "encoder.num_latent": "3"}
  folders = []
  for seed in range(3):
    weights = np.random.RandomState(seed).normal(0, 0.02, size=(64 * 64, 3)).astype(np.float32)
    root = tf1_hub.build_tf1_hub_model(str(tmp_path / str(seed)), weights, logvar_value=-3.0,
                                       bindings={**bindings, "model.random_seed": str(seed)})
    folders.append(os.path.join(root, "model"))  # dlib's model folder: tfhub/ inside
  out = tmp_path / "udr"
  assert dlib_compat.udr_main([f"--model_dirs={','.join(folders)}", f"--output_dir={out}",
                               "--gin_bindings=udr_sklearn.num_data_points = 200"]) == 0
  with open(out / "results" / "json" / "evaluation_results.json") as f:
    results = json.load(f)
  assert len(results["model_scores"]) == 3
  assert np.asarray(results["pairwise_disentanglement_scores"]).shape[:2] == (3, 3)
