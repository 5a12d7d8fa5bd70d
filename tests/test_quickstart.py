"""The main job (`infofrag_quickstart` at its defaults) shows the paper's phenomenon:
hotspots of repeated information appear and sharpen as beta grows.

Slow: it trains the quickstart's eleven models (about 4 minutes on 2 idle cores).
"""

import csv
import os

import pytest

from infofrag.cli import quickstart


def _read(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def _value(group):
  return float(group.rsplit("=", 1)[1])


@pytest.mark.slow
def test_quickstart_hotspots_grow_with_beta(tmp_path):
  out = str(tmp_path / "quickstart")
  assert quickstart.main([f"--output_dir={out}"]) == 0
  check_quickstart_analysis(os.path.join(out, "analysis"))


def check_quickstart_analysis(analysis):
  """Every claim of the main job, read from the tables it wrote (also usable on a run made
  by hand: `python -c "from tests.test_quickstart import *; check_quickstart_analysis(DIR)"`)."""
  rows = _read(os.path.join(analysis, "groups.csv"))
  # The single beta-TC-VAE has no group of its own: hotspots need two models or more.
  assert {row["group"] for row in rows} == {"beta_vae beta=1", "beta_vae beta=16"}
  groups = {row["group"]: row for row in rows if row["group"].startswith("beta_vae")}
  low, high = sorted(groups, key=_value)
  assert (_value(low), _value(high)) == (1.0, 16.0)
  models = int(groups[high]["models"])
  assert models == 5
  hotspots = [row for row in _read(os.path.join(analysis, "hotspots.csv"))
              if row["group"] == high and row["distance"] == groups[high]["distance"]]
  strong = [row for row in hotspots
            if int(row["models_covered"]) >= 0.8 * models and float(row["mean_nmi"]) >= 0.6
            and float(row["best_factor_nmi"]) >= 0.4]
  assert len(strong) >= 2, hotspots
  assert {row["best_factor"] for row in strong} == {"pos_x", "pos_y"}
  for column in ("fraction_in_hotspots", "mean_hotspot_nmi"):
    assert float(groups[high][column]) > float(groups[low][column]), column
  assert float(groups[high]["mean_active_channels"]) < float(groups[low]["mean_active_channels"])
  # Error bars: every per-group number has its interval over the five seeds, every hotspot
  # its stability, and the model-selection table ranks the unsupervised scores against MIG.
  for row in groups.values():
    for column in ("mean_active_channels", "fraction_in_hotspots", "mean_hotspot_nmi"):
      assert float(row[f"{column}_low"]) <= float(row[column]) <= float(row[f"{column}_high"])
  assert all(0.0 <= float(row["stability"]) <= 1.0 for row in hotspots)
  selection = _read(os.path.join(analysis, "selection.csv"))
  assert {"fraction_in_hotspots", "best_match_nmi", "info_bits_bound"} <= {
      row["score"] for row in selection}
  figures = os.listdir(os.path.join(analysis, "figures", "synthetic_dsprites_32"))
  slug = high.replace(" ", "_")
  assert f"structure_{slug}_nmi.png" in figures and f"structure_{slug}_vi.png" in figures
  # The whole-space table: single models, each beta's concatenation, the beta-TC-VAE.
  spaces = _read(os.path.join(analysis, "spaces.csv"))
  kinds = {(row["kind"], row["method"]) for row in spaces}
  assert {("model", "beta_vae"), ("model", "beta_tc_vae"), ("concatenation", "beta_vae"),
          ("fused", "fusion")} <= kinds
  by_name = {row["space"]: row for row in spaces}
  single = max(float(by_name[str(n)]["info_bits"]) for n in range(5, 10))
  concatenated = float(by_name["beta_vae beta=16 (5 models)"]["info_bits"])
  assert concatenated > single  # an ensemble holds more about the data than any member


@pytest.mark.parametrize("flag", ["--processes=0", "--processes=-1", "--training_steps=0",
                                  "--fingerprint_size=0", "--num_train=-5", "--min_samples=1"])
def test_bad_counts_are_rejected_before_any_work(tmp_path, capsys, flag):
  out = tmp_path / "quickstart"
  assert quickstart.main([f"--output_dir={out}", flag]) == 2
  error = capsys.readouterr().err
  assert error.startswith("infofrag_quickstart: error: --") and flag.split("=")[0] in error
  assert not out.exists()  # nothing trained, nothing written



@pytest.mark.slow
def test_reproduce_hotspots_quick_fewer_active_channels_at_high_beta(tmp_path):
  from infofrag.cli import reproduce
  out = tmp_path / "hotspots"
  assert reproduce.main(["hotspots", f"--output_dir={out}", "--quick"]) == 0
  groups = {row["group"]: row for row in _read(out / "analysis" / "groups.csv")}
  low, high = sorted(groups, key=_value)
  assert (_value(low), _value(high)) == (1.0, 16.0) and groups[high]["models"] == "2"
  assert float(groups[high]["mean_active_channels"]) < float(groups[low]["mean_active_channels"])
  assert (out / "hotspots_composite.png").stat().st_size > 0


def test_reproduce_rejects_bad_flags_before_any_work(tmp_path, capsys):
  from infofrag.cli import reproduce
  out = tmp_path / "hotspots"
  assert reproduce.main(["hotspots", f"--output_dir={out}", "--processes=0"]) == 2
  assert "--processes must be a positive integer" in capsys.readouterr().err
  assert not out.exists()
