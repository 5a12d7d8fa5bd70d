"""infofrag_train --scheduler: a sweep as Dask tasks on a small LocalCluster."""

import json
import os
import subprocess
import sys

import pytest

from infofrag.utils import paths

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The installed infofrag_train console script runs infofrag.cli.train:main.
TRAIN = [sys.executable, "-m", "infofrag.cli.train"]
TINY = ["--gin_bindings=model.training_steps = 4", "--gin_bindings=model.batch_size = 64",
        "--gin_bindings=model.eval_steps = 1", "--gin_bindings=mlp_encoder.hidden_units = (16,)"]


def _run(args):
  # This tree's infofrag, for the CLI, its Dask workers and their training processes.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
  return subprocess.run(TRAIN + args, cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=900)


@pytest.mark.slow  # trains two models (about a minute on an idle 2-core machine)
def test_sweep_on_a_local_cluster_trains_every_model_and_resumes(tmp_path):
  root = tmp_path / "zoo"
  config = paths.gin_config_path("circle", "beta_vae_circle.gin")
  args = [f"--gin_config={config}", *TINY, "--sweep=vae.beta=[0.03, 0.1]", "--seeds=1",
          f"--zoo={root}", "--scheduler=local:2", "--no_progress"]
  done = _run(args)
  assert done.returncode == 0, done.stderr[-3000:]
  assert "2 trained, 0 already finished, 0 failed" in done.stdout
  for number in range(2):
    assert (root / str(number) / "model" / "tfhub" / "saved_model.pb").exists()
    assert not (root / f"{number}.log").exists()  # logs are kept only on failure
  with open(root / "sweep.json") as f:
    manifest = json.load(f)
  assert [entry["status"] for entry in manifest] == ["trained"] * 2
  assert manifest[1]["recorded"] == {"vae.beta": "0.1", "model.random_seed": "1",
                                     "model.training_steps": "4", "model.batch_size": "64",
                                     "model.eval_steps": "1", "mlp_encoder.hidden_units": "(16,)"}
  again = _run(args)
  assert again.returncode == 0 and "0 trained, 2 already finished" in again.stdout


def test_bad_scheduler_values_are_one_line_errors_before_any_work(tmp_path):
  config = paths.gin_config_path("circle", "beta_vae_circle.gin")
  done = _run([f"--gin_config={config}", f"--zoo={tmp_path / 'zoo'}", "--scheduler=local:0"])
  assert done.returncode == 2 and not (tmp_path / "zoo").exists()
  assert done.stderr.strip().splitlines() == [
      "infofrag_train: error: --scheduler=local:0: local:N needs a positive number of workers, "
      "e.g. local:2."]
  single = _run([f"--gin_config={config}", f"--model_dir={tmp_path / 'm'}", "--scheduler=local"])
  assert single.returncode == 2 and "--scheduler runs sweeps" in single.stderr
