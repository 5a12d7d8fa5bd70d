"""Faults and bad input: results are never stale or misattributed, the user's data is never
overwritten, corrupt files are set aside, bad arguments fail before any work."""

import json
import os
import shutil

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.evaluation import evaluate
from tests.helpers import tf1_hub

MIG_200 = ["mig.num_train = 200"]


def _model(path, seed=0, scale=0.02, nan_outputs=False):
  weights = np.random.RandomState(seed).normal(0, scale, size=(64 * 64, 3)).astype(np.float32)
  bindings = {"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
              "model.name": "'beta_vae'", "vae.beta": "2.0", "model.random_seed": str(seed),
              "encoder.num_latent": "3"}
  return tf1_hub.build_tf1_hub_model(str(path), weights, logvar_value=-3.0, bindings=bindings,
                                     nan_outputs=nan_outputs)


def _results_dir(model_dir, root=None):
  return os.path.join(root or os.path.join(model_dir, "metrics"), "mean", "mig", "results")


def test_changed_settings_recompute_with_a_notice(tmp_path, capsys):
  model_dir = _model(tmp_path / "0")
  first = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  again = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  assert again.reused and again.results == first.results
  changed = evaluate.evaluate_model(model_dir, "mig", gin_bindings=["mig.num_train = 100"])
  assert not changed.reused and changed.results["uuid"] != first.results["uuid"]
  assert "recomputing mig (saved result differs in: gin)" in capsys.readouterr().err
  with open(os.path.join(_results_dir(model_dir), "json", "evaluation_config.json")) as f:
    assert json.load(f)["mig.num_train"] == "100"
  with pytest.raises(evaluate.EvaluationError, match="--no_recompute"):
    evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200, no_recompute=True)


def test_replaced_weights_are_not_reported_with_the_old_result(tmp_path):
  model_dir = _model(tmp_path / "0")
  evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  shutil.rmtree(os.path.join(model_dir, "model"))
  _model(tmp_path / "0", nan_outputs=True)  # same folder, NaN weights now
  with pytest.raises(Exception, match="NaN|nan|finite"):
    evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)


def test_read_only_models_with_the_same_name_get_their_own_results(tmp_path, monkeypatch):
  dirs = [_model(tmp_path / zoo / "0", seed=seed, scale=0.02 * (seed + 1))
          for zoo, seed in (("zooA", 0), ("zooB", 1))]
  out = tmp_path / "out"
  real_access = os.access
  # Read-only model folders (chmod does not stop root, who runs CI, so say it here).
  monkeypatch.setattr(os, "access", lambda path, mode: False if os.fspath(path) in dirs
                      else real_access(path, mode))
  codes = [evaluate_cli.main([f"--model_dir={d}", "--metrics=mig", f"--output_dir={out}",
                              "--fingerprint_size=50", "--gin_bindings=mig.num_train = 200"])
           for d in dirs]
  assert codes == [0, 0]
  assert not any(os.path.exists(os.path.join(d, "metrics")) for d in dirs)
  folders = sorted(os.listdir(out / "metrics"))
  assert len(folders) == 2 and all(name.startswith("0-") for name in folders)
  values = []
  for folder in folders:
    with open(out / "metrics" / folder / "mean" / "mig" / "results" / "json" / "evaluation_results.json") as f:
      values.append(json.load(f)["discrete_mig"])
  assert values[0] != values[1]


def test_a_corrupt_result_is_set_aside_and_recomputed(tmp_path, capsys):
  model_dir = _model(tmp_path / "0")
  first = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  path = os.path.join(_results_dir(model_dir), "json", "evaluation_results.json")
  with open(path, "w") as f:
    f.write('{"discrete_mig": 0.1')  # truncated
  run = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  assert not run.reused and run.results["discrete_mig"] == first.results["discrete_mig"]
  aside = _results_dir(model_dir) + ".corrupt"
  assert os.path.exists(os.path.join(aside, "json", "evaluation_results.json"))
  assert "set aside" in capsys.readouterr().err


def _as_dlib_result(model_dir):
  """Turns the infofrag result into one dlib would have written (no infofrag key)."""
  results_dir = _results_dir(model_dir)
  os.remove(os.path.join(results_dir, "json", evaluate.KEY_FILE))
  return results_dir


def test_dlib_results_are_reused_when_their_config_matches_and_never_overwritten(tmp_path):
  model_dir = _model(tmp_path / "0")
  first = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  results_dir = _as_dlib_result(model_dir)
  reused = evaluate.evaluate_model(model_dir, "mig", gin_bindings=MIG_200)
  assert reused.reused and reused.source == "dlib" and reused.results == first.results
  with pytest.raises(evaluate.ForeignResultsError, match="--output_dir"):
    evaluate.evaluate_model(model_dir, "mig", gin_bindings=["mig.num_train = 100"])
  elsewhere = str(tmp_path / "out" / "metrics" / "0-x")
  run = evaluate.evaluate_model(model_dir, "mig", gin_bindings=["mig.num_train = 100"],
                                fallback_root=elsewhere)
  assert run.results_dir.startswith(elsewhere) and not run.reused
  with open(os.path.join(results_dir, "json", "evaluation_results.json")) as f:
    assert json.load(f)["uuid"] == first.results["uuid"]  # dlib's result untouched
  again = evaluate.evaluate_model(model_dir, "mig", gin_bindings=["mig.num_train = 100"],
                                  fallback_root=elsewhere)
  assert again.reused and again.source == "infofrag"


def test_damaged_caches_are_set_aside_and_the_analysis_recomputed(tmp_path, capsys):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  out = tmp_path / "out"
  argv = [f"--zoo={zoo}", f"--output_dir={out}", "--metrics=none", "--fingerprint_size=60",
          "--min_samples=2"]
  assert evaluate_cli.main(argv) == 0
  with open(out / "results.json") as f:
    first = json.load(f)["models"]
  cache = out / "cache" / "synthetic_dsprites_n60_seed0"
  damaged = sorted(cache.iterdir())
  for path in damaged:
    path.write_bytes(path.read_bytes()[:100])  # truncated by a crash or a full disk
  assert evaluate_cli.main(argv) == 0
  with open(out / "results.json") as f:
    assert json.load(f)["models"] == first
  assert all((cache / (p.name + ".corrupt")).exists() for p in damaged)
  assert "damaged" in capsys.readouterr().err
