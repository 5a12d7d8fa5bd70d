"""End to end: `infofrag_evaluate --zoo=ROOT --output_dir=OUT` on a tiny zoo made here.

The zoo holds dlib-format TF1 Hub modules (linear encoders, built in the test) and one
deliberately broken model. Checked: one table row per good model, the broken one reported,
hotspots of repeated channels, figures, and that a re-run embeds nothing (cache).
"""

import csv
import json
import os

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from tests.helpers import pinned_tables
from tests.helpers import tf1_hub

def _make_zoo(root, num_good=3):
  rng = np.random.RandomState(0)
  for number in range(num_good):
    noise = [rng.normal(0, 0.02, tf1_hub.PIXELS) for _ in range(2)]
    weights = np.stack([tf1_hub.ramp(1), tf1_hub.ramp(0)] + noise, axis=1)
    bindings = {"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
                "model.name": "'beta_vae'", "vae.beta": f"{[1.0, 4.0][number % 2]}",
                "model.random_seed": str(number), "encoder.num_latent": "4"}
    tf1_hub.build_tf1_hub_model(os.path.join(root, str(number)), weights.astype(np.float32),
                                logvar_value=-4.0, bindings=bindings)
  broken = os.path.join(root, str(num_good))
  tf1_hub.write_dlib_train_results(broken, {"dataset.name": "'synthetic_dsprites'",
                                            "model.model": "@vae()"})
  return root


@pytest.fixture(scope="module", name="zoo_run")
def fixture_zoo_run(tmp_path_factory):
  root = _make_zoo(str(tmp_path_factory.mktemp("zoo")))
  out = str(tmp_path_factory.mktemp("analysis"))
  argv = [f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=200", "--metrics=none",
          "--min_samples=2"]
  first = evaluate_cli.main(argv)
  with open(os.path.join(out, "results.json")) as f:
    first_results = json.load(f)
  second = evaluate_cli.main(argv)
  with open(os.path.join(out, "results.json")) as f:
    second_results = json.load(f)
  return root, out, (first, first_results), (second, second_results)


def test_one_row_per_good_model_and_broken_model_reported(zoo_run):
  root, out, (code, results), _ = zoo_run
  assert code == 1  # a broken model makes the exit code report failure
  with open(os.path.join(out, "models.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [row["model"] for row in rows] == ["0", "1", "2"]
  assert {row["value"] for row in rows} == {"1.0", "4.0"}
  failures = results["failures"]
  assert len(failures) == 1 and failures[0]["model_dir"] == os.path.join(root, "3")
  assert "no saved model" in failures[0]["reason"]


def test_channel_measures_are_sensible(zoo_run):
  _, _, (_, results), _ = zoo_run
  for model in results["models"]:
    info = model["info_bits_per_channel"]
    assert len(info) == 4 and model["active_channels"] >= 2
    assert model["info_total_bits"] >= max(info) - 1e-9  # the whole space holds more
    # Channel 0 reads the x position, channel 1 the y position.
    assert model["best_factor_per_channel"][0].startswith(("pos_x", "scale"))
    assert model["best_factor_per_channel"][1].startswith(("pos_y", "scale"))


def test_repeated_channels_form_hotspots(zoo_run):
  _, out, (_, results), _ = zoo_run
  members = [set(h["members"].split()) for h in results["hotspots"] if h["group"] == "all"]
  assert {"0:0", "1:0", "2:0"} in members  # the identical x channel of every model
  x_hotspot = next(h for h in results["hotspots"] if set(h["members"].split()) == {"0:0", "1:0", "2:0"})
  assert x_hotspot["mean_nmi"] > 0.999 and x_hotspot["models_covered"] == 3
  with open(os.path.join(out, "hotspots.md")) as f:
    assert f.readline().startswith("| dataset | group | distance | hotspot |")
  for distance in ("vi", "nmi"):  # each distance has its own OPTICS run and rows
    assert {"0:0", "1:0", "2:0"} in [set(h["members"].split()) for h in results["hotspots"]
                                     if h["group"] == "all" and h["distance"] == distance]
  figures = os.listdir(os.path.join(out, "figures", "synthetic_dsprites"))
  assert {"structure_all_nmi.png", "structure_all_vi.png"} <= set(figures)
  assert any(name.startswith("hotspot_") and name.endswith(".png") for name in figures)


def test_rerun_reuses_the_cache(zoo_run):
  _, out, (_, first), (code, second) = zoo_run
  assert code == 1
  stats_first = first["datasets"]["synthetic_dsprites"]
  stats_second = second["datasets"]["synthetic_dsprites"]
  assert stats_first["embedded_models"] == 3 and stats_first["cached_embeddings"] == 0
  assert stats_second["embedded_models"] == 0 and stats_second["cached_embeddings"] == 3
  assert stats_second["pairwise_cached"] is True
  assert first["models"] == second["models"]
  samples = os.listdir(os.path.join(out, "fingerprints"))
  assert samples == ["synthetic_dsprites_n200_seed0.npz"]


@pytest.mark.slow  # 35 s: a LocalCluster of 2 starts; the blocked stage itself is in test_distributed_pairwise
def test_a_dask_local_cluster_gives_the_in_process_tables(zoo_run, tmp_path):
  # Embedding and metrics run as one task per model, the pairwise stage as block tasks.
  root, out, (_, results), _ = zoo_run
  dask_out = str(tmp_path / "dask")
  code = evaluate_cli.main([f"--zoo={root}", f"--output_dir={dask_out}", "--fingerprint_size=200",
                            "--metrics=mig", "--gin_bindings=mig.num_train = 300",
                            "--min_samples=2", "--scheduler=local:2", "--no_progress"])
  assert code == 1  # the broken model is reported as on the in-process path
  with open(os.path.join(dask_out, "results.json")) as f:
    on_dask = json.load(f)
  assert [f["model_dir"] for f in on_dask["failures"]] == [f["model_dir"] for f in results["failures"]]
  assert [m["model"] for m in on_dask["models"]] == [m["model"] for m in results["models"]]
  assert all(m["mig"] is not None for m in on_dask["models"])
  for dask_row, row in zip(on_dask["models"], results["models"]):
    np.testing.assert_allclose(dask_row["info_bits_per_channel"], row["info_bits_per_channel"],
                               atol=1e-12)
    assert dask_row["hotspot_per_channel"] == row["hotspot_per_channel"]
  summary = lambda rows: sorted((h["distance"], h["group"], h["members"]) for h in rows)
  assert summary(on_dask["hotspots"]) == summary(results["hotspots"])
  pairwise_folders = [name for name in os.listdir(os.path.join(dask_out, "cache",
                                                               "synthetic_dsprites_n200_seed0"))
                      if name.startswith("pairwise-")]
  assert pairwise_folders and os.path.isdir(os.path.join(
      dask_out, "cache", "synthetic_dsprites_n200_seed0", pairwise_folders[0], "blocks"))


def test_fusion_of_the_ensemble_and_its_hotspots(tmp_path):
  root = _make_zoo(str(tmp_path / "zoo"), num_good=2)
  out = str(tmp_path / "analysis")
  code = evaluate_cli.main([f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=150",
                            "--metrics=none", "--min_samples=2", "--fusion",
                            "--fusion_steps=300", "--fusion_points=100"])
  assert code == 1  # the broken model is still reported
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  reports = results["datasets"]["synthetic_dsprites"]["fusion"]
  hotspots = [h for h in results["hotspots"] if h["group"] == "all" and h["distance"] == "nmi"]
  assert set(reports) == {"all_models"} | {f"hotspot_{h['hotspot']}" for h in hotspots}
  whole = reports["all_models"]
  assert whole["num_members"] == 2 and whole["num_points"] == 100 and whole["dim"] == 2
  assert 0.0 < whole["fused_information_bits"] <= np.log2(100) + 1e-9
  with open(os.path.join(out, "fusion.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [row["fused"] for row in rows][0] == "all_models"
  assert float(rows[0]["fused_info_bits"]) == pytest.approx(whole["fused_information_bits"])


def test_models_of_different_datasets_are_analysed_separately(tmp_path):
  root = tmp_path / "zoo"
  _make_zoo(str(root), num_good=2)
  circle_weights = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)  # mean = (cos t, sin t)
  for number in (10, 11):  # two noise levels: not one model twice
    tf1_hub.build_tf1_hub_model(
        str(root / str(number)), circle_weights, logvar_value=-6.0 + 0.5 * (number - 10),
        image_shape=(2,),
        bindings={"dataset.name": "'circle'", "model.model": "@vae()", "vae.beta": "0.03",
                  "model.random_seed": str(number), "encoder.num_latent": "2"})
  out = tmp_path / "analysis"
  evaluate_cli.main([f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=100",
                     "--metrics=none", "--min_samples=2"])
  with open(out / "results.json") as f:
    results = json.load(f)
  assert set(results["datasets"]) == {"circle", "synthetic_dsprites"}
  datasets = {row["model"]: row["dataset"] for row in results["models"]}
  assert datasets == {"0": "synthetic_dsprites", "1": "synthetic_dsprites",
                      "10": "circle", "11": "circle"}
  assert sorted(os.listdir(out / "fingerprints")) == ["circle_n100_seed0.npz",
                                                     "synthetic_dsprites_n100_seed0.npz"]
  # The circle channels are the points' coordinates: each carries much of the angle.
  circle_rows = [row for row in results["models"] if row["dataset"] == "circle"]
  assert all(row["best_factor_per_channel"][0].startswith("angle:") for row in circle_rows)
  hotspot_members = {m for h in results["hotspots"] if h["dataset"] == "circle"
                     for m in h["members"].split()}
  assert hotspot_members <= {"10:0", "10:1", "11:0", "11:1"}


def test_pairwise_in_channel_blocks_equals_one_symmetric_call(tmp_path):
  # Large zoos are done in tasks of channel blocks to bound memory; the matrices
  # must not depend on it.
  import types
  from infofrag.analysis import pairwise
  rng = np.random.default_rng(3)
  embeddings = [types.SimpleNamespace(info=types.SimpleNamespace(model_dir=str(tmp_path / f"m{k}")),
                                      mean=rng.normal(size=(60, 4)), logvar=rng.normal(-2, 0.3, size=(60, 4)))
                for k in range(3)]
  every = np.arange(12)
  whole = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path / "one"), channels=every,
                                     progress=False)
  assert pairwise.block_channels(12, 2, 80 * 13 * 13) is None  # one call fits
  assert pairwise.block_channels(12, 2, 80 * 13 * 6) == 7  # two tasks of 8 x 8 accumulators fit
  blocks = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path / "blocks"), channels=every,
                                      progress=False, max_accumulator_bytes=80 * 13 * 6)
  for name in ("nmi", "vi", "information"):
    np.testing.assert_allclose(getattr(blocks, name), getattr(whole, name), rtol=0, atol=1e-12)
  assert whole.nmi.shape == (12, 12) and np.array_equal(blocks.nmi, blocks.nmi.T)
  again = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path / "one"), channels=every,
                                     progress=False)
  assert whole.cached is False and again.cached is True


@pytest.fixture(scope="module", name="spaces_run")
def fixture_spaces_run(tmp_path_factory):
  """(zoo, output folder) of an analysis with every optional table: groups, fusion, spaces."""
  root = _make_zoo(str(tmp_path_factory.mktemp("zoo")), num_good=3)  # beta 1, 4, 1 (+ broken)
  x, y = tf1_hub.ramp(1), tf1_hub.ramp(0)
  weights = np.stack([x, y, x - y, x + y], axis=1)
  tf1_hub.build_tf1_hub_model(os.path.join(root, "7"), weights.astype(np.float32), logvar_value=-4.0,
                              bindings={"dataset.name": "'synthetic_dsprites'",
                                        "model.model": "@beta_tc_vae()", "model.name": "'beta_tc_vae'",
                                        "beta_tc_vae.beta": "6.0", "model.random_seed": "0",
                                        "encoder.num_latent": "4"})
  out = str(tmp_path_factory.mktemp("analysis"))
  code = evaluate_cli.main([f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=120",
                            "--metrics=none", "--min_samples=2", "--per_hyperparameter",
                            "--fusion", "--fusion_steps=100", "--fusion_points=60", "--spaces",
                            "--model_similarity", "--mc_samples=300", "--mc_seed=5"])
  assert code == 1  # the broken model
  return root, out


def test_every_table_keeps_its_recorded_numbers(spaces_run):
  # The refactors of the middle layers keep every number: tables equal to 1e-12 to the
  # recording made before them (tests/helpers/pinned_tables.py says how to record anew).
  root, out = spaces_run
  with open(os.path.join(os.path.dirname(__file__), "data", "pinned_tables.json")) as f:
    expected = json.load(f)
  problems = pinned_tables.differences(expected, pinned_tables.read_tables(out, root))
  assert not problems, "\n".join(problems[:20])


def test_spaces_and_model_similarity_tables_have_every_kind_of_row(spaces_run):
  _, out = spaces_run
  with open(os.path.join(out, "spaces.csv")) as f:
    rows = list(csv.DictReader(f))
  kinds = {(row["kind"], row["method"]) for row in rows}
  assert {("model", "beta_vae"), ("model", "beta_tc_vae"), ("concatenation", "beta_vae"),
          ("fused", "fusion")} <= kinds
  by_name = {row["space"]: row for row in rows}
  concatenated = by_name["beta_vae beta=1 (2 models)"]
  assert int(concatenated["dims"]) == 8 and int(concatenated["members"]) == 2
  assert all(row["mc_samples"] == "300" and row["seed"] == "5" for row in rows)
  assert int(by_name["fused all_models"]["points"]) == 60 and int(by_name["0"]["points"]) == 120
  for row in rows:
    assert 0.0 < float(row["info_bits"]) <= np.log2(int(row["points"])) + 5 * float(row["info_err"])
    assert float(row["info_fraction"]) == pytest.approx(float(row["info_bits"]) / np.log2(int(row["points"])), rel=1e-5)
    if row["note"]:  # below the information floor: NMI is not reported
      assert float(row["info_bits"]) < 0.1 and np.isnan(float(row["factors_nmi"]))
      assert np.isnan(float(row["nmi_pos_x"])) and "floor" in row["note"]
    else:
      assert float(row["nmi_pos_x_err"]) >= 0 and 0 <= float(row["nmi_pos_x"]) <= 1
  # Models 0 and 2 are the same linear encoder: their pair NMI is near 1.
  with open(os.path.join(out, "model_similarity.csv")) as f:
    pairs = list(csv.DictReader(f))
  same = next(p for p in pairs if {p["model_a"], p["model_b"]} == {"0", "2"})
  assert float(same["nmi"]) > 0.9
  assert any(p["model_a"] == "combined" for p in pairs)
  assert os.path.exists(os.path.join(out, "figures", "synthetic_dsprites", "model_similarity_nmi.png"))
  with open(os.path.join(out, "spaces.md")) as f:
    assert "I(U;X) bits" in f.readline()


def test_spaces_on_a_larger_sample_of_their_own(tmp_path):
  root = _make_zoo(str(tmp_path / "zoo"), num_good=2)
  out = str(tmp_path / "analysis")
  evaluate_cli.main([f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=60",
                     "--metrics=none", "--min_samples=2", "--spaces", "--spaces_points=150",
                     "--mc_samples=200", "--model_similarity"])
  with open(os.path.join(out, "spaces.csv")) as f:
    rows = list(csv.DictReader(f))
  assert {row["points"] for row in rows} == {"150"}
  assert sorted(os.listdir(os.path.join(out, "fingerprints"))) == [
      "synthetic_dsprites_n150_seed0.npz", "synthetic_dsprites_n60_seed0.npz"]
  cached = os.listdir(os.path.join(out, "cache", "synthetic_dsprites_n150_seed0"))
  assert len([name for name in cached if name.startswith("means-")]) == 2
