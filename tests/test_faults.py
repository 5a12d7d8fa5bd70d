"""Faults and bad input: results are never stale or misattributed, the user's data is never
overwritten, corrupt files are set aside, bad arguments fail before any work."""

import json
import os
import shutil

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.evaluation import evaluate
from infofrag.utils import checks
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


def _finished_model(model_dir, bindings):
  """A model folder that looks finished, with `bindings` as its recorded training config."""
  os.makedirs(os.path.join(model_dir, "model", "tfhub"))
  json_dir = os.path.join(model_dir, "model", "results", "json")
  os.makedirs(json_dir)
  with open(os.path.join(json_dir, "train_results.json"), "w") as f:
    json.dump({"loss": 1.0}, f)
  with open(os.path.join(json_dir, "train_config.json"), "w") as f:
    json.dump(bindings, f)


def test_a_sweep_rerun_with_another_grid_is_an_error_not_a_lie(tmp_path):
  from infofrag.training import sweep  # pylint: disable=g-import-not-at-top
  config = tmp_path / "base.gin"
  config.write_text("model.batch_size = 4\nvae.beta = 1.\n")
  root = tmp_path / "zoo"
  for number, beta in ((0, "1.0"), (1, "8.0")):
    _finished_model(str(root / str(number)), {"vae.beta": beta, "model.random_seed": "0",
                                              "model.batch_size": "4"})
  models = sweep.expand_grid([str(config)], [sweep.parse_axis("vae.beta=[2., 8.]")], [0])
  status = sweep.run_sweep(models, str(root), processes=1, progress=False)
  assert status[1] == "skipped"  # beta 8 was asked and trained
  assert "vae.beta: trained with 1.0, requested 2.0" in status[0] and "--overwrite" in status[0]
  with open(root / "sweep.json") as f:
    manifest = json.load(f)
  assert manifest[0]["recorded"]["vae.beta"] == "1.0"  # what model 0 really is
  assert manifest[0]["gin_config_files"] == [str(config)] and os.path.isabs(str(config))
  with pytest.raises(ValueError, match="processes"):
    sweep.run_sweep(models, str(root), processes=0)
  with pytest.raises(ValueError, match="--model_nums"):
    checks.parse_int_ranges("3-x", flag="--model_nums")


def test_resume_refuses_another_config_and_a_partial_run_is_never_silently_deleted(tmp_path):
  import gin  # pylint: disable=g-import-not-at-top
  from infofrag.training import train  # pylint: disable=g-import-not-at-top
  work_dir = str(tmp_path / ".0.infofrag_partial")
  base = ["model.model = @vae()", "model.batch_size = 4"]
  try:
    train.parse_gin([], base + ["vae.beta = 1."])
    train._prepare_work_dir(work_dir, resume=True, overwrite=False)  # pylint: disable=protected-access
    marker = os.path.join(work_dir, "checkpoint-of-hours")
    open(marker, "w").close()
    gin.clear_config()
    train.parse_gin([], base + ["vae.beta = 8."])
    with pytest.raises(train.TrainingError, match=r"vae\.beta: 1\.0 in the interrupted run, 8\.0 now"):
      train._prepare_work_dir(work_dir, resume=True, overwrite=False)  # pylint: disable=protected-access
    with pytest.raises(train.TrainingError, match="--resume to continue it or --overwrite"):
      train._prepare_work_dir(work_dir, resume=False, overwrite=False)  # pylint: disable=protected-access
    assert os.path.exists(marker)  # nothing was deleted
    gin.clear_config()
    train.parse_gin([], base + ["vae.beta = 1."])
    train._prepare_work_dir(work_dir, resume=True, overwrite=False)  # pylint: disable=protected-access
    assert os.path.exists(marker)  # same config: resumed in place
    train._prepare_work_dir(work_dir, resume=False, overwrite=True)  # pylint: disable=protected-access
    assert not os.path.exists(marker)  # --overwrite discards it
  finally:
    gin.clear_config()


def test_a_signal_during_the_checkpoint_save_waits_for_the_save(monkeypatch):
  import signal  # pylint: disable=g-import-not-at-top
  from infofrag.training import train  # pylint: disable=g-import-not-at-top
  events = []
  def handler(signum, frame):
    del frame
    events.append(("handled", signum))
    raise KeyboardInterrupt
  previous = signal.signal(signal.SIGTERM, handler)
  try:
    with pytest.raises(KeyboardInterrupt):
      with train._signals_deferred():  # pylint: disable=protected-access
        os.kill(os.getpid(), signal.SIGTERM)
        events.append("save finished")
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert events == ["save finished", ("handled", signal.SIGTERM)]


def test_written_files_follow_the_umask(tmp_path):
  from infofrag.utils import io  # pylint: disable=g-import-not-at-top
  previous = os.umask(0o022)
  try:
    io.write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert os.stat(tmp_path / "a.json").st_mode & 0o777 == 0o644
    os.umask(0o077)
    io.write_text_atomic(tmp_path / "b.txt", "private")
    assert os.stat(tmp_path / "b.txt").st_mode & 0o777 == 0o600
  finally:
    os.umask(previous)


@pytest.mark.parametrize("flag, message", [
    ("--fingerprint_size=5000000", "exceeds the 737,280 distinct factor settings"),
    ("--fingerprint_size=500000", "needs about"),
    ("--fingerprint_size=1", "at least 2"),
    ("--min_samples=1", "--min_samples must be at least 2"),
    ("--mc_samples=1", "--mc_samples must be at least 2")])
def test_bad_analysis_options_fail_before_any_work_and_keep_earlier_tables(tmp_path, capsys, flag,
                                                                           message):
  zoo = tmp_path / "zoo"
  _model(zoo / "0")
  out = tmp_path / "out"
  out.mkdir()
  (out / "models.md").write_text("earlier tables\n")
  code = evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}", "--metrics=mig", flag])
  assert code != 0
  assert message in capsys.readouterr().err
  assert (out / "models.md").read_text() == "earlier tables\n"  # not blanked
  assert not (zoo / "0" / "metrics").exists()  # no metric was computed


def test_environment_problems_are_one_line_errors(tmp_path, capsys):
  model_dir = _model(tmp_path / "0")
  a_file = tmp_path / "file"
  a_file.write_text("x")
  cases = [([f"--output_dir={a_file}"], "is a file"),
           ([f"--output_dir={a_file}/sub"], "not writable"),
           ([f"--gin_config={tmp_path}/missing.gin"], "missing.gin: no such file"),
           (["--gin_bindings=dataset.name = 'dsprite'"], "unknown dataset 'dsprite'")]
  for extra, message in cases:
    code = evaluate_cli.main([f"--model_dir={model_dir}", "--metrics=mig"] + extra)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, (extra, err)
    assert len(err.strip().splitlines()) == 1


def test_tools_start_without_tensorflow_noise(tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  model_dir = _model(tmp_path / "0")
  command = [sys.executable, "-m", "infofrag.cli.evaluate", f"--model_dir={model_dir}",
             "--metrics=mig", "--gin_bindings=mig.num_train = 100"]
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  quiet = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
  assert quiet.returncode == 0, quiet.stderr
  for noise in ("cuInit", "absl::InitializeLog", "cudart_stub", "oneDNN"):
    assert noise not in quiet.stderr, quiet.stderr


def _child_processes():
  """PIDs of this process's live children (Linux /proc)."""
  children = []
  for entry in os.listdir("/proc"):
    if entry.isdigit():
      try:
        with open(f"/proc/{entry}/stat") as f:
          fields = f.read().rsplit(")", 1)[1].split()
      except OSError:
        continue
      if int(fields[1]) == os.getpid() and fields[0] != "Z":
        children.append(int(entry))
  return children


def test_parallel_metric_fits_leave_no_worker_processes_behind():
  # Worker processes left idle outlive a killed evaluation; the fits run on threads.
  from infofrag.metrics import dci  # pylint: disable=g-import-not-at-top
  from infofrag.metrics import sap  # pylint: disable=g-import-not-at-top
  before = set(_child_processes())
  rng = np.random.RandomState(0)
  codes, factors = rng.normal(size=(300, 4)), rng.randint(0, 3, size=(300, 2))
  serial = dci.compute_dci(codes, factors, codes, factors, random_state=0, n_jobs=1)
  parallel = dci.compute_dci(codes, factors, codes, factors, random_state=0, n_jobs=2)
  assert serial == parallel
  sap.compute_sap(codes, factors, codes, factors, random_state=0)
  assert set(_child_processes()) - before == set()
