"""Sweeps train in long-lived worker processes: same weights as alone, failures stay local."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from infofrag.training import sweep
from infofrag.utils import paths

STEPS = 100
SMALL = ["mlp_encoder.hidden_units = (32, 32)", "mlp_decoder.hidden_units = (32, 32)",
         "model.batch_size = 64", "model.eval_steps = 2"]


def _circle_config():
  return paths.gin_config_path("circle", "beta_vae_circle.gin")


def _model(number, seed, *, steps=STEPS, extra=()):
  bindings = SMALL + [f"model.training_steps = {steps}", f"model.random_seed = {seed}", *extra]
  return sweep.SweepModel(number, [_circle_config()], bindings)


def _encoder_outputs(model_dir):
  from infofrag.experiments import so2_fusion
  return np.concatenate(so2_fusion.encode_circle(model_dir, so2_fusion.fingerprint_angles(64)), axis=1)


def test_a_failing_model_fails_alone_and_its_worker_trains_the_next(tmp_path):
  root = tmp_path / "zoo"
  models = [_model(0, 0, extra=["model.batch_size = 0"]), _model(1, 3)]  # 0: rejected
  status = sweep.run_sweep(models, str(root), processes=1, progress=False)
  assert status[0].startswith("failed (TrainingError): ") and "model.batch_size" in status[0]
  assert (root / "0.log").exists() and str(root / "0.log") in status[0]  # kept: it failed
  assert status[1] == "trained" and not (root / "1.log").exists()
  assert sweep.is_finished(str(root / "1")) and not (root / "0").exists()
  assert sweep.run_sweep(models[1:], str(root), processes=2, progress=False) == {1: "skipped"}


@pytest.mark.slow  # 35 s: two TensorFlow start-ups and three trainings
def test_a_model_trained_after_others_in_one_worker_equals_it_trained_alone(tmp_path, monkeypatch):
  monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
  root = tmp_path / "zoo"
  status = sweep.run_sweep([_model(1, 3), _model(2, 5)], str(root), processes=1, progress=False)
  assert status == {1: "trained", 2: "trained"}
  alone = tmp_path / "alone"
  command = sweep.training_command(_model(2, 5), str(alone))
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
  result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  np.testing.assert_array_equal(_encoder_outputs(str(root / "2")), _encoder_outputs(str(alone / "2")))


def _training_worker_pids():
  import psutil  # a dependency of dask.distributed
  return [child.pid for child in psutil.Process().children(recursive=True)
          if "infofrag.training.workers" in " ".join(child.cmdline())]


@pytest.mark.slow
def test_a_killed_worker_fails_its_model_only_and_a_rerun_finishes_it(tmp_path):
  import threading
  root = tmp_path / "zoo"
  models = [_model(0, 0, steps=3000, extra=["model.batch_size = 16"]), _model(1, 1)]
  outcome = {}
  runner = threading.Thread(target=lambda: outcome.update(
      sweep.run_sweep(models, str(root), processes=2, progress=False)))
  runner.start()
  checkpoints = root / ".0.infofrag_partial" / "model" / "tf_checkpoint"
  deadline = time.time() + 240
  while not (checkpoints.exists() and any(checkpoints.glob("ckpt-*.index"))):
    assert time.time() < deadline, "model 0 wrote no checkpoint"
    time.sleep(0.2)  # the first checkpoint comes after 1,000 steps
  log_of_model_0 = str(root / "0.log")
  victims = [pid for pid in _training_worker_pids()
             if log_of_model_0 in (os.readlink(f"/proc/{pid}/fd/1"), os.readlink(f"/proc/{pid}/fd/2"))]
  assert len(victims) == 1, "exactly one worker should be training model 0"
  os.kill(victims[0], signal.SIGKILL)
  runner.join(240)
  assert outcome[0].startswith("failed (worker exit -9)") and log_of_model_0 in outcome[0]
  assert outcome[1] == "trained"
  assert _training_worker_pids() == []  # the other worker was stopped at the end
  rerun = sweep.run_sweep(models, str(root), processes=2, progress=False)
  assert rerun == {0: "trained", 1: "skipped"}
  with open(root / "0" / "model" / "logs" / ".." / "results" / "json" / "train_results.json") as f:
    assert '"global_step": 3000' in f.read()
