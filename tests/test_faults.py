"""Faults and bad input: results are never stale or misattributed, the user's data is never
overwritten, corrupt files are set aside, bad arguments fail before any work."""

import contextlib
import json
import os
import re
import shutil

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.evaluation import evaluate
from infofrag.utils import checks
from tests.helpers import tf1_hub

MIG_200 = ["mig.num_train = 200"]


def _model(path, seed=0, scale=0.02, nan_outputs=False, logvar=-3.0):
  weights = np.random.RandomState(seed).normal(0, scale, size=(64 * 64, 3)).astype(np.float32)
  bindings = {"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
              "model.name": "'beta_vae'", "vae.beta": "2.0", "model.random_seed": str(seed),
              "encoder.num_latent": "3"}
  return tf1_hub.build_tf1_hub_model(str(path), weights, logvar_value=logvar, bindings=bindings,
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
  from infofrag.training import sweep
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
  import gin
  from infofrag.training import train
  work_dir = str(tmp_path / ".0.infofrag_partial")
  base = ["model.model = @vae()", "model.batch_size = 4"]
  try:
    train.parse_gin([], base + ["vae.beta = 1."])
    train._prepare_work_dir(work_dir, resume=True, overwrite=False)
    marker = os.path.join(work_dir, "checkpoint-of-hours")
    open(marker, "w").close()
    gin.clear_config()
    train.parse_gin([], base + ["vae.beta = 8."])
    with pytest.raises(train.TrainingError, match=r"vae\.beta: 1\.0 in the interrupted run, 8\.0 now"):
      train._prepare_work_dir(work_dir, resume=True, overwrite=False)
    with pytest.raises(train.TrainingError, match="--resume to continue it or --overwrite"):
      train._prepare_work_dir(work_dir, resume=False, overwrite=False)
    assert os.path.exists(marker)  # nothing was deleted
    gin.clear_config()
    train.parse_gin([], base + ["vae.beta = 1."])
    train._prepare_work_dir(work_dir, resume=True, overwrite=False)
    assert os.path.exists(marker)  # same config: resumed in place
    train._prepare_work_dir(work_dir, resume=False, overwrite=True)
    assert not os.path.exists(marker)  # --overwrite discards it
  finally:
    gin.clear_config()


def test_a_signal_during_the_checkpoint_save_waits_for_the_save(monkeypatch):
  import signal
  from infofrag.training import train
  events = []
  def handler(signum, frame):
    del frame
    events.append(("handled", signum))
    raise KeyboardInterrupt
  previous = signal.signal(signal.SIGTERM, handler)
  try:
    with pytest.raises(KeyboardInterrupt):
      with train._signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        events.append("save finished")
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert events == ["save finished", ("handled", signal.SIGTERM)]


def test_written_files_follow_the_umask(tmp_path):
  from infofrag.utils import io
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
  import subprocess
  import sys
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
  from infofrag.metrics import dci
  from infofrag.metrics import sap
  before = set(_child_processes())
  rng = np.random.RandomState(0)
  codes, factors = rng.normal(size=(300, 4)), rng.randint(0, 3, size=(300, 2))
  serial = dci.compute_dci(codes, factors, codes, factors, random_state=0, n_jobs=1)
  parallel = dci.compute_dci(codes, factors, codes, factors, random_state=0, n_jobs=2)
  assert serial == parallel
  sap.compute_sap(codes, factors, codes, factors, random_state=0)
  assert set(_child_processes()) - before == set()


# ---------------------------------------------------------------------------------------
# Trust: each class of silent wrong number or lost run found by the new-user probe.

ANALYSIS = ["--metrics=none", "--fingerprint_size=60", "--min_samples=2"]


def _results(out):
  with open(os.path.join(out, "results.json")) as f:
    return json.load(f)


def test_same_named_models_of_two_zoos_are_never_merged(tmp_path):
  # Same weights, other noise: the two "1"s share their information but are two models.
  dirs = [_model(tmp_path / zoo / "1", seed=0, logvar=logvar)
          for zoo, logvar in (("zooA", -3.0), ("zooB", -2.5))]
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--model_dir={d}" for d in dirs] + [f"--output_dir={out}"]
                           + ANALYSIS) == 0
  results = _results(out)
  assert [m["model"] for m in results["models"]] == ["zooA/1", "zooB/1"]
  assert [m["model_dir"] for m in results["models"]] == [os.path.abspath(d) for d in dirs]
  hotspots = [h for h in results["hotspots"] if h["distance"] == "nmi"]
  assert hotspots, "the shared channels form hotspots"
  for hotspot in hotspots:
    members = hotspot["members"].split()
    assert len(set(members)) == len(members)
    assert hotspot["models_covered"] == len({m.rpartition(":")[0] for m in members}) == 2


def test_duplicate_models_are_reported_and_counted_once(tmp_path, capsys):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  shutil.copytree(zoo / "0", zoo / "2")  # a copied folder: identical weights
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS) == 0
  results = _results(out)
  assert [m["model"] for m in results["models"]] == ["0", "1"]
  assert results["duplicates"] == [{"model_dir": str(zoo / "2"), "name": "2",
                                    "duplicate_of": "0", "reason": "identical posteriors"}]
  assert not any(m.startswith("2:") for h in results["hotspots"] for m in h["members"].split())
  assert "DUPLICATE" in capsys.readouterr().err
  with open(out / "report.html") as f:
    assert "Duplicate models (counted once)" in f.read()


def test_a_sweep_with_a_repeated_grid_point_is_refused(tmp_path, capsys):
  from infofrag.cli import quickstart
  from infofrag.training import sweep
  with pytest.raises(ValueError, match="vae.beta: the value 1.0 is given more than once"):
    sweep.expand_grid([], [("vae.beta", ["1", "1.0"])], [0])
  with pytest.raises(ValueError, match="model.random_seed: the value 3"):
    sweep.expand_grid([], [("vae.beta", ["1", "4"])], [3, 3])
  assert quickstart.main([f"--output_dir={tmp_path}", "--seeds=0,1,1"]) == 2
  assert "--seeds repeats 1" in capsys.readouterr().err
  assert not os.path.exists(tmp_path / "zoo")


def test_a_rerun_into_the_same_folder_shows_only_its_own_tables(tmp_path):
  zoo = tmp_path / "zoo"
  for seed in range(3):
    _model(zoo / str(seed), seed=seed, scale=0.02 * (seed + 1))
  out = tmp_path / "out"
  first = [f"--zoo={zoo}", f"--output_dir={out}", "--per_hyperparameter", "--spaces",
           "--mc_samples=100"] + ANALYSIS
  assert evaluate_cli.main(first) == 0
  assert (out / "groups.csv").exists() and (out / "spaces.csv").exists()
  assert evaluate_cli.main([f"--model_dir={zoo / '0'}", f"--output_dir={out}"] + ANALYSIS) == 0
  assert not any((out / f"{name}.{ext}").exists() for name in ("groups", "spaces")
                 for ext in ("csv", "md"))
  assert _results(out)["tables"] == ["models", "hotspots"]
  with open(out / "report.html") as f:
    page = f.read()
  assert "Whole spaces" not in page and "Per-group summary" not in page
  figures = [name for _, _, names in os.walk(out / "figures") for name in names]
  assert all(os.path.join(out, "figures", "synthetic_dsprites", name) in
             _results(out)["datasets"]["synthetic_dsprites"]["figures"]
             for name in figures if name != "models_scatter.png")


def test_nmi_of_spaces_below_the_information_floor_is_not_reported():
  from infofrag.analysis import fusion_runs
  from infofrag.analysis import tables
  from infofrag.fragments import whole_spaces as spaces
  rng = np.random.RandomState(0)
  factors = np.stack([np.arange(200) % 4, np.arange(200) % 5], axis=1)
  # A collapsed model: means that barely move against unit posterior noise (~0.02 bits).
  collapsed = spaces.Space("collapsed", "model", 0.1 * factors[:, :1] + 0.01 * rng.randn(200, 1),
                           np.zeros((200, 1)))
  row = tables.space_row(collapsed, factors, ["a", "b"], num_samples=400, seed=0)
  assert row["info_bits"] < spaces.INFORMATION_FLOOR_BITS
  assert np.isnan(row["factors_nmi"]) and np.isnan(row["nmi_a"])
  assert np.isnan(row["bhattacharyya_factors_nmi"]) and "floor" in row["note"]
  informative = spaces.Space("clear", "model", 3.0 * factors[:, :1].astype(float),
                             np.full((200, 1), -2.0))
  clear = tables.space_row(informative, factors, ["a", "b"], num_samples=400, seed=0)
  assert clear["note"] is None and 0 <= clear["nmi_a"] <= 1 and clear["nmi_a"] > 0.5
  report = {"num_members": 3, "num_points": 200, "dim": 2, "fused_information_bits": 0.002,
            "members_information_bits": {"mean": 2.0, "max": 3.0},
            "gain_over_best_member_bits": -2.998, "nmi_with_members": {"mean": -0.03},
            "factors": {"a": {"fused_nmi": 0.25, "best_member_nmi": 0.9}}}
  [fused] = fusion_runs.fusion_rows("d", {"all_models": report})
  assert np.isnan(fused["mean_nmi_with_members"]) and np.isnan(fused["fused_best_factor_nmi"])
  assert "floor" in fused["note"]
  report["fused_information_bits"] = 3.0
  [fused] = fusion_runs.fusion_rows("d", {"all_models": report})
  assert fused["mean_nmi_with_members"] == 0.0 and fused["note"] is None  # clipped to [0, 1]


def test_quickstart_fails_when_a_training_failed(tmp_path, monkeypatch, capsys):
  from infofrag.cli import common
  from infofrag.cli import quickstart
  from infofrag.distributed import training
  from infofrag.zoo import loading
  monkeypatch.setattr(training, "train_sweep", lambda models, root, **_: {
      m.model_num: ("trained" if m.model_num else "RuntimeError: out of memory")
      for m in models})
  monkeypatch.setattr(common, "run_analysis", lambda *args, **kwargs: 0)
  monkeypatch.setattr(loading, "find_models", lambda **_: [])
  code = quickstart.main([f"--output_dir={tmp_path}", "--betas=1", "--seeds=0,1",
                          "--extra_model_config=none", "--no_progress"])
  assert code == 1
  assert "1 of 2 trainings failed (model 0)" in capsys.readouterr().err


def test_failed_trainings_of_a_sweep_zoo_are_reported_by_the_analysis(tmp_path):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  os.makedirs(zoo / ".2.infofrag_partial" / "model")  # an interrupted training: not a model
  with open(zoo / "sweep.json", "w") as f:
    json.dump([{"model_num": 0, "status": "trained"}, {"model_num": 1, "status": "trained"},
               {"model_num": 2, "status": "RuntimeError: loss is NaN\ntraceback..."}], f)
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS) == 1
  results = _results(out)
  assert results["failures"] == [{"model_dir": str(zoo / "2"),
                                  "reason": "training failed: RuntimeError: loss is NaN"}]
  assert len(results["models"]) == 2
  with open(out / "report.html") as f:
    assert "training failed: RuntimeError: loss is NaN" in f.read()


@pytest.mark.parametrize("weights_scale,logvar,message", [
    (1e31, -3.0, r"posterior mean of channel\(s\) 0, 1, 2 is beyond"),
    (0.02, -740.0, r"log-variance of channel\(s\) 0, 1, 2 is outside"),
])
def test_extreme_encoder_outputs_fail_their_model_by_name(tmp_path, weights_scale, logvar,
                                                          message):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  _model(zoo / "9", seed=9, scale=weights_scale, logvar=logvar)
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS) == 1
  results = _results(out)
  [failure] = results["failures"]
  assert failure["model_dir"] == str(zoo / "9") and "model 9:" in failure["reason"]
  assert re.search(message, failure["reason"])
  assert [m["model"] for m in results["models"]] == ["0", "1"]


def test_nan_posteriors_are_an_error_not_inactive_channels(tmp_path):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  _model(zoo / "5", seed=5, nan_outputs=True)
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS) == 1
  [failure] = _results(out)["failures"]
  assert failure["model_dir"] == str(zoo / "5") and "NaN or inf" in failure["reason"]


def test_one_unreadable_model_fails_alone(tmp_path):
  zoo = tmp_path / "zoo"
  for seed in range(3):
    _model(zoo / str(seed), seed=seed)
  os.symlink(tmp_path / "nowhere", zoo / "1" / "model" / "tfhub" / "variables.lost")
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}", "--per_hyperparameter"]
                           + ANALYSIS) == 1
  results = _results(out)
  assert [f["model_dir"] for f in results["failures"]] == [str(zoo / "1")]
  assert [m["model"] for m in results["models"]] == ["0", "2"]
  assert os.path.exists(out / "groups.csv") and os.path.exists(out / "models.csv")


def test_a_failing_stage_fails_only_itself(tmp_path, monkeypatch, capsys):
  from infofrag.analysis import fusion_runs
  zoo = tmp_path / "zoo"
  for seed in range(3):
    _model(zoo / str(seed), seed=seed)

  def broken_fusion(*args, **kwargs):
    raise ValueError("fusion diverged\nsecond line")
  monkeypatch.setattr(fusion_runs, "run_fusion", broken_fusion)
  out = tmp_path / "out"
  code = evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}", "--fusion", "--spaces",
                            "--mc_samples=100", "--per_hyperparameter"] + ANALYSIS)
  assert code == 1
  results = _results(out)
  assert results["stage_failures"] == [{"dataset": "synthetic_dsprites", "stage": "fusion",
                                        "subject": "all", "reason": "fusion diverged"}]
  assert len(results["models"]) == 3 and results["failures"] == []
  assert len(results["spaces"]) >= 3 and os.path.exists(out / "groups.csv")
  assert "FAILED stage fusion" in capsys.readouterr().err


def test_a_running_training_cannot_be_overwritten(tmp_path, capsys):
  from infofrag.cli import train as train_cli
  from infofrag.utils import locks
  from infofrag.utils import paths
  model_dir = tmp_path / "model"
  os.makedirs(model_dir / "model")
  (model_dir / "model" / "keep").write_text("the running training's files")
  argv = [f"--model_dir={model_dir}", "--overwrite",
          f"--gin_config={paths.gin_config_path('quick32', 'vae.gin')}",
          "--gin_bindings=model.training_steps = 1"]
  with locks.exclusive_folder_lock(str(model_dir)):
    assert train_cli.main(argv) != 0
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and f"process {os.getpid()}" in err[0] and "in use" in err[0]
  assert (model_dir / "model" / "keep").read_text() == "the running training's files"
  assert not os.path.exists(locks.lock_path(str(model_dir)))  # released


@pytest.mark.parametrize("flags,message", [
    (["--fingerprint_seed=-1"], "--fingerprint_seed must be an integer in [0, 2**32)"),
    (["--mc_seed=-5", "--spaces"], "--mc_seed must be an integer in [0, 2**32)"),
    (["--spaces", "--spaces_points=99999999"], "--spaces_points 99,999,999 exceeds"),
])
def test_seeds_and_sizes_are_checked_before_any_work(tmp_path, capsys, flags, message):
  zoo = tmp_path / "zoo"
  _model(zoo / "0")
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS + flags) == 2
  assert message in capsys.readouterr().err
  assert not os.path.exists(out / "cache")


@pytest.mark.parametrize("flag", ["--fusion", "--per_hyperparameter", "--spaces"])
def test_analysis_switches_without_an_output_folder_are_errors(tmp_path, capsys, flag):
  _model(tmp_path / "0")
  assert evaluate_cli.main([f"--model_dir={tmp_path / '0'}", flag, "--metrics=mig"]) == 2
  assert f"{flag} need(s) --output_dir" in capsys.readouterr().err


def test_interrupts_and_a_full_disk_end_evaluate_with_one_line(tmp_path, monkeypatch, capsys):
  import errno
  from infofrag.analysis import outputs
  from infofrag.analysis import pipeline
  from infofrag.distributed import scheduler
  zoo = tmp_path / "zoo"
  _model(zoo / "0")
  argv = [f"--zoo={zoo}", f"--output_dir={tmp_path / 'out'}"] + ANALYSIS

  def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "models.csv"))
  monkeypatch.setattr(outputs, "write_tables", full)
  assert evaluate_cli.main(argv) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1].startswith("infofrag_evaluate: error: cannot write ") and "models.csv" in err[-1]

  def interrupted(*args, **kwargs):
    raise KeyboardInterrupt
  monkeypatch.setattr(pipeline, "analyse_zoo", interrupted)
  assert evaluate_cli.main(argv) == 130
  assert capsys.readouterr().err.strip().splitlines()[-1].endswith("run the same command again "
                                                                   "to resume.")
  monkeypatch.undo()

  @contextlib.contextmanager
  def unreachable(spec, **kwargs):
    raise ConnectionError("cannot reach the Dask scheduler tcp://127.0.0.1:9: refused\nmore")
    yield
  monkeypatch.setattr(scheduler, "connect", unreachable)
  assert evaluate_cli.main(argv + ["--scheduler=tcp://127.0.0.1:9"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == ["infofrag_evaluate: error: --scheduler=tcp://127.0.0.1:9: cannot reach the Dask "
                 "scheduler tcp://127.0.0.1:9: refused"]


def test_a_truncated_dataset_file_is_named(tmp_path, monkeypatch):
  from infofrag.data import named_data
  from infofrag.data.ground_truth import dsprites
  path = tmp_path.joinpath(*dsprites.DSPRITES_RELATIVE_PATH)
  os.makedirs(path.parent)
  np.savez(path, imgs=np.zeros((4, 64, 64), np.uint8), latents_classes=np.zeros((4, 6), np.int64))
  path.write_bytes(path.read_bytes()[:300])  # a download that stopped early
  monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
  with pytest.raises(ValueError, match=rf"cannot read {re.escape(str(path))} .*download it again"):
    named_data.get_named_ground_truth_data("dsprites_full")


def test_visualize_dataset_rejects_a_bad_sample_count(tmp_path, capsys):
  from infofrag.cli import visualize_dataset
  assert visualize_dataset.main([f"--output_dir={tmp_path}", "--num_samples=0"]) == 2
  assert "--num_samples must be between 1 and" in capsys.readouterr().err
  assert os.listdir(tmp_path) == []


def test_the_models_table_names_the_dataset_when_a_zoo_mixes_them(tmp_path):
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)
  circle = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
  tf1_hub.build_tf1_hub_model(str(zoo / "5"), circle, logvar_value=-6.0, image_shape=(2,),
                              bindings={"dataset.name": "'circle'", "model.model": "@vae()",
                                        "model.random_seed": "0", "encoder.num_latent": "2"})
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}"] + ANALYSIS) == 0
  with open(out / "models.md") as f:
    header, _, *rows = f.read().splitlines()
  assert header.startswith("| model | dataset |")
  assert any("| 5 | circle |" in row for row in rows)


def test_a_full_disk_while_caching_an_embedding_stops_the_run_not_one_model(tmp_path,
                                                                            monkeypatch, capsys):
  import errno
  from infofrag.analysis import embedding
  zoo = tmp_path / "zoo"
  for seed in range(2):
    _model(zoo / str(seed), seed=seed)

  def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "cache.npz")
  monkeypatch.setattr(embedding, "channel_statistics", full)
  code = evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={tmp_path / 'out'}"] + ANALYSIS)
  assert code == 2
  assert "No space left on device" in capsys.readouterr().err.strip().splitlines()[-1]
  assert not os.path.exists(tmp_path / "out" / "results.json")
