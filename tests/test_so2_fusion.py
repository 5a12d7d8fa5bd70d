"""Tests of the SO(2) fusion experiment (infofrag.experiments.so2_fusion) and its CLI."""

import ast
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from infofrag import fragments
from infofrag.cli import reproduce
from infofrag.experiments import so2_fusion

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unrolled_learners(count, num_points, seed=0):
  """Synthetic 1-D circle learners: the circle cut at a random angle and unrolled."""
  rng = np.random.default_rng(seed)
  angles = so2_fusion.fingerprint_angles(num_points)
  fps = []
  for _ in range(count):
    position = np.mod(angles - rng.uniform(0, 2 * np.pi), 2 * np.pi) / (2 * np.pi) - 0.5
    fps.append(fragments.bhattacharyya_distances(6.0 * position[:, None], np.full((num_points, 1), -3.0)))
  return np.stack(fps)


def test_help_does_not_import_tensorflow():
  code = ("import sys\nfrom infofrag.cli import reproduce\n"
          "try:\n  reproduce.main(['fusion', '--help'])\nexcept SystemExit:\n  pass\n"
          "assert 'tensorflow' not in sys.modules, 'TF imported'\nprint('clean')")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
  assert out.returncode == 0, out.stderr
  assert "clean" in out.stdout and "--fusion_steps" in out.stdout


def test_parser_rejects_bad_lists():
  with pytest.raises(SystemExit):
    reproduce.build_parser().parse_args(["fusion", "--output_dir=x", "--sizes=2,zero"])
  with pytest.raises(SystemExit):
    reproduce.build_parser().parse_args(["fusion", "--output_dir=x", "--objectives=info,kl"])
  args = reproduce.build_parser().parse_args(["fusion", "--output_dir=x", "--sizes=2,5", "--objectives=vi"])
  assert args.sizes == [2, 5] and args.objectives == ["vi"] and args.fusion_steps == 20000


def test_fusion_package_does_not_import_training():
  """infofrag.fusion is numerical code; the experiment that trains learners lives in experiments/."""
  folder = os.path.join(REPO, "infofrag", "fusion")
  offenders = []
  for name in sorted(os.listdir(folder)):
    if name.endswith(".py"):
      tree = ast.parse(open(os.path.join(folder, name)).read())
      for node in ast.walk(tree):
        modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                   [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        offenders += [f"{name}: {m}" for m in modules
                      if m.startswith(("infofrag.training", "infofrag.experiments", "infofrag.zoo"))]
  assert not offenders


def test_learners_are_a_seed_sweep_with_the_overrides(tmp_path):
  models = so2_fusion.learner_sweep(3, extra_bindings=["model.training_steps = 700"])
  assert [m.model_num for m in models] == [0, 1, 2]
  assert models[2].gin_config_files == [so2_fusion.default_gin_config()]
  assert models[2].gin_bindings == ["model.training_steps = 700", "model.random_seed = 2"]
  assert models[1].model_dir(so2_fusion.models_root(str(tmp_path))) == str(tmp_path / "models" / "1")
  with pytest.raises(FileNotFoundError, match="weak-learner config not found"):
    so2_fusion.learner_sweep(2, gin_configs=[str(tmp_path / "missing.gin")])


def test_learners_trained_with_another_config_are_refused_before_training(tmp_path):
  # A finished learner as the sweep records it (its export and its training config).
  learner = tmp_path / "models" / "0" / "model"
  (learner / "tfhub").mkdir(parents=True)
  (learner / "results" / "json").mkdir(parents=True)
  (learner / "results" / "json" / "train_results.json").write_text("{}")
  (learner / "results" / "json" / "train_config.json").write_text(
      json.dumps({"model.batch_size": "2048", "model.random_seed": "0"}))
  with pytest.raises(so2_fusion.LearnerTrainingError,
                     match=r"models/0 was trained with another config \(model.batch_size: "
                           r"trained with 2048, requested 128\)"):
    so2_fusion.train_weak_learners(str(tmp_path), 2, extra_bindings=["model.batch_size = 128"])
  assert not (tmp_path / "models" / "1").exists()  # nothing was trained


@pytest.mark.parametrize("flag, message", [
    ("--repeats=0", "--repeats must be >= 1"), ("--batch_size=0", "--batch_size must be >= 1"),
    ("--learner_learning_rate=-1", "--learner_learning_rate must be > 0"),
    ("--processes=0", "--processes must be >= 1"), ("--num_points=2", "--fingerprint_size must be >= 3")])
def test_bad_flags_are_rejected_before_any_work(tmp_path, capsys, flag, message):
  out = tmp_path / "fusion"
  assert reproduce.main(["fusion", f"--output_dir={out}", flag]) == 2
  assert capsys.readouterr().err.strip() == f"infofrag_reproduce fusion: error: {message}"
  assert not out.exists()


def test_flags_become_learner_bindings():
  args = reproduce.build_parser().parse_args(
      ["fusion", "--output_dir=x", "--training_steps=900", "--batch_size=256", "--learner_learning_rate=0.004"])
  assert reproduce.learner_bindings(args) == [
      "model.training_steps = 900", "model.batch_size = 256", "vae/AdamOptimizer.learning_rate = 0.004"]
  assert reproduce.learner_bindings(reproduce.build_parser().parse_args(["fusion", "--output_dir=x"])) == []


def test_plan_needs_enough_learners():
  with pytest.raises(ValueError, match="need 10 weak learners; got 6"):
    so2_fusion.check_plan(6, [2, 5], repeats=2)
  assert so2_fusion.check_plan(10, [5, 2, 2], repeats=2) == [2, 5]


def test_table_and_figures_show_continuity_falling(tmp_path):
  fingerprints = unrolled_learners(2 * 8, 120)
  rows = so2_fusion.report_from_fingerprints(
      fingerprints, str(tmp_path), [2, 8], 2, objectives=["info"], steps=1200,
      log=lambda _: None)
  with open(tmp_path / "fusion_table.csv") as handle:
    table = list(csv.DictReader(handle))
  assert [(r["objective"], int(r["ensemble_size"])) for r in table] == [("info", 2), ("info", 8)]
  assert float(table[1]["continuity_mean"]) < float(table[0]["continuity_mean"])
  for row in table:
    assert int(row["repeats"]) == 2
    assert float(row["fused_info_bits_mean"]) > float(row["member_info_bits_max"])
  # The members' information in the table is the mean over repeats of each block's statistics.
  info = fragments.information(fingerprints)
  expected_max = np.mean([info[0:2].max(), info[8:10].max()])
  assert float(table[0]["member_info_bits_max"]) == pytest.approx(expected_max, rel=1e-9)
  assert rows[0]["continuity_std"] >= 0
  markdown = (tmp_path / "fusion_table.md").read_text()
  assert "| info | 8 | 2 |" in markdown
  for name in ("continuity_vs_size.png", "fused_embeddings.png"):
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]  # no temporary file left behind


def test_fingerprints_file_round_trip(tmp_path):
  fingerprints = unrolled_learners(3, 50)
  path = so2_fusion.save_fingerprints(fingerprints, str(tmp_path / "fingerprints.npz"))
  with np.load(path) as stored:
    np.testing.assert_array_equal(stored["fingerprints"], fingerprints)
    np.testing.assert_allclose(stored["angles"], np.arange(50) * 2 * np.pi / 50)


@pytest.mark.slow
def test_reproduce_fusion_quick_continuity_falls_with_ensemble_size_and_resumes(tmp_path):
  """The paper's claim at the quick scale: fusing more weak learners (by exp(-VI)) closes the
  circle, i.e. the mean continuity over repeats falls clearly from the smallest size to the
  largest. The quick learners (64 units, 3,000 steps at batch 128) cut the circle open like the paper's
  (recorded as information close to 3 bits each, not the ~1.5 bits of a 2-to-1 projection)."""
  from infofrag.cli import reproduce
  out = str(tmp_path / "demo")
  argv = ["fusion", f"--output_dir={out}", "--quick", "--no_progress"]
  assert reproduce.main(argv) == 0
  models = [name for name in os.listdir(os.path.join(out, "models")) if name.isdigit()]
  assert sorted(models, key=int) == [str(k) for k in range(12)]  # 3 repeats x size 4
  with open(os.path.join(out, "fusion_table.csv")) as handle:
    table = list(csv.DictReader(handle))
  by_key = {(r["objective"], int(r["ensemble_size"])): r for r in table}
  assert sorted(by_key) == [("info", 2), ("info", 4), ("vi", 2), ("vi", 4)]
  assert all(int(r["repeats"]) == 3 for r in table)
  # Torn weak learners, as the paper's 3,000-step ones (a learner that only projects the circle
  # onto a line, folding it 2-to-1, holds about 1.5 bits on the fingerprint points).
  assert min(float(r["member_info_bits_mean"]) for r in table) > 2.5
  # The paper's claim: continuity falls as the ensemble grows (vi: to less than half).
  small, large = (float(by_key[("vi", size)]["continuity_mean"]) for size in (2, 4))
  assert large < 0.5 * small, (small, large)
  # Maximising mutual information with the members yields more information than any member.
  for size in (2, 4):
    row = by_key[("info", size)]
    assert float(row["fused_info_bits_mean"]) > float(row["member_info_bits_max"])
  # Re-run: the trained models are reused (their files are not rewritten).
  saved = os.path.join(out, "models", "0", "model", "tfhub", "saved_model.pb")
  before = os.path.getmtime(saved)
  assert reproduce.main(argv) == 0
  assert os.path.getmtime(saved) == before
