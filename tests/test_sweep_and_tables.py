"""Sweep expansion, tables, and argument checks of the evaluation CLI (no TensorFlow)."""

import csv
import subprocess
import sys

import pytest

from infofrag.analysis import options
from infofrag.metrics import registry
from infofrag.reports import tables
from infofrag.training import sweep
from infofrag.utils import checks


def test_expand_grid_numbers_values_outer_seeds_inner():
  models = sweep.expand_grid(["a.gin"], [("vae.beta", ["1.0", "8.0"])], [0, 1, 2])
  assert [m.model_num for m in models] == list(range(6))
  assert models[4].gin_bindings == ["vae.beta = 8.0", "model.random_seed = 1"]
  assert models[0].model_dir("/root") == "/root/0"


def test_parse_axis_and_seeds():
  assert sweep.parse_axis("vae.beta=[1, 4.5]") == ("vae.beta", ["1", "4.5"])
  assert sweep.parse_axis("dip_vae.dip_type = ['i', 'ii']") == ("dip_vae.dip_type", ["'i'", "'ii'"])
  assert checks.parse_int_ranges("0-2,7", flag="--seeds") == [0, 1, 2, 7]
  assert sweep.parse_axis("vae.beta=1,2") == ("vae.beta", ["1", "2"])  # a tuple is fine
  with pytest.raises(ValueError, match="list literal"):
    sweep.parse_axis("vae.beta=[four]")
  with pytest.raises(ValueError, match="non-empty list"):
    sweep.parse_axis("vae.beta=4")
  with pytest.raises(ValueError, match="--seeds"):
    checks.parse_int_ranges("", flag="--seeds")


def test_sweep_skips_finished_models(tmp_path):
  finished = tmp_path / "0" / "model"
  (finished / "tfhub").mkdir(parents=True)
  (finished / "results" / "json").mkdir(parents=True)
  (finished / "results" / "json" / "train_results.json").write_text("{}")
  models = sweep.expand_grid([], [], [0])
  assert sweep.run_sweep(models, str(tmp_path), progress=False) == {0: "skipped"}


def test_markdown_and_csv_tables(tmp_path):
  rows = [{"model": "0", "mig": 0.123456, "channels": [0.5, 1.25]}, {"model": "1", "mig": None}]
  text = tables.markdown_table(rows, ["model", "mig", "channels"], digits=2)
  assert text.splitlines() == ["| model | mig | channels |", "|---|---|---|",
                               "| 0 | 0.12 | 0.50 1.25 |", "| 1 |  |  |"]
  path = tables.write_csv(str(tmp_path / "t.csv"), rows, ["model", "mig", "channels"])
  with open(path) as f:
    parsed = list(csv.DictReader(f))
  assert parsed[0]["mig"] == "0.123456" and parsed[1]["mig"] == ""


def test_size_bindings_are_checked():
  options.check_size_bindings(["mig.num_train = 1000", "vae.beta = 3"])
  with pytest.raises(ValueError, match=r"mig.num_train must be between 1 and 1,000,000"):
    options.check_size_bindings(["mig.num_train = 5000000"])
  with pytest.raises(ValueError, match="dci.num_test"):
    options.check_size_bindings(["dci.num_test = 0"])


def test_metric_columns_name_the_headlines():
  names = [column for _, _, column in registry.metric_columns(["mig", "sap_score", "dci"])]
  assert names == ["mig", "sap", "dci_disentanglement", "dci_completeness",
                   "dci_informativeness_test"]


@pytest.mark.parametrize("program", ["evaluate", "train", "visualize_dataset", "quickstart",
                                     "reproduce"])
def test_cli_help_is_fast_and_tensorflow_free(program):
  code = (f"import sys; from infofrag.cli import {program} as m\n"
          "try:\n  m.main(['--help'])\nexcept SystemExit:\n  pass\n"
          "assert 'tensorflow' not in sys.modules, 'TensorFlow imported by --help'\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  assert "usage:" in result.stdout


@pytest.mark.slow  # 33 s; run_sweep itself is covered by test_training_workers.py
def test_train_cli_sweep_trains_skips_and_resumes(tmp_path):
  """infofrag_train --zoo (or its older name --output_root): a 2-model grid in 2 processes, then a no-op re-run."""
  from infofrag.utils import paths
  root = tmp_path / "zoo"
  command = [sys.executable, "-m", "infofrag.cli.train",
             f"--gin_config={paths.gin_config_path('quick', 'vae.gin')}",
             "--sweep=vae.beta=[1., 8.]", "--seeds=3", "--output_root", str(root),
             "--gin_bindings=model.training_steps = 3", "--gin_bindings=model.batch_size = 4",
             "--no_progress"]
  first = subprocess.run(command, capture_output=True, text=True, check=False)
  assert first.returncode == 0, first.stderr[-2000:]
  assert "2 trained, 0 already finished, 0 failed" in first.stdout
  for number, beta in [(0, "1.0"), (1, "8.0")]:
    with open(root / str(number) / "model" / "results" / "gin" / "train.gin") as f:
      text = f.read()
    assert f"vae.beta = {beta}" in text and "model.random_seed = 3" in text
  second = subprocess.run(command, capture_output=True, text=True, check=False)
  assert "0 trained, 2 already finished" in second.stdout


def test_train_cli_sweep_argument_errors(tmp_path):
  result = subprocess.run([sys.executable, "-m", "infofrag.cli.train", "--sweep=vae.beta=4",
                           f"--zoo={tmp_path}"], capture_output=True, text=True, check=False)
  assert result.returncode == 2 and "non-empty list" in result.stderr
  result = subprocess.run([sys.executable, "-m", "infofrag.cli.train"], capture_output=True,
                          text=True, check=False)
  assert result.returncode == 2 and "--model_dir is required" in result.stderr
