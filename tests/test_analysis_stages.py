"""Each stage of the zoo analysis through its typed interface, without the command line."""

import dataclasses
import os
import warnings

import numpy as np
import pytest

from infofrag.analysis import embedding
from infofrag.analysis import options as options_lib
from infofrag.analysis import outputs
from infofrag.analysis import pairwise
from infofrag.analysis import pipeline
from infofrag.analysis import sample
from infofrag.analysis import structure
from infofrag.zoo import loading as models
from infofrag.zoo import model_info
from tests.helpers import tf1_hub

@pytest.fixture(scope="module", name="zoo")
def fixture_zoo(tmp_path_factory):
  """Three linear encoders reading x and y (beta 1, 4, 1) and a model without weights."""
  root = str(tmp_path_factory.mktemp("zoo"))
  rng = np.random.RandomState(0)
  for number in range(3):
    weights = np.stack([tf1_hub.ramp(1), tf1_hub.ramp(0), rng.normal(0, 0.02, tf1_hub.PIXELS)], axis=1)
    tf1_hub.build_tf1_hub_model(
        os.path.join(root, str(number)), weights.astype(np.float32), logvar_value=-4.0,
        bindings={"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
                  "model.name": "'beta_vae'", "vae.beta": f"{[1.0, 4.0][number % 2]}",
                  "model.random_seed": str(number), "encoder.num_latent": "3"})
  tf1_hub.write_dlib_train_results(os.path.join(root, "3"), {
      "dataset.name": "'synthetic_dsprites'", "model.model": "@vae()"})
  return root


def test_options_are_checked_with_the_flag_named(tmp_path):
  good = options_lib.EvaluationOptions(output_dir=str(tmp_path / "out"))
  options_lib.check_options(good)
  assert os.path.isdir(tmp_path / "out")
  for change, message in [({"fingerprint_size": 1}, "--fingerprint_size must be at least 2"),
                          ({"min_samples": 1}, "--min_samples must be at least 2"),
                          ({"gin_bindings": ("mig.num_train = 0",)}, "mig.num_train must be"),
                          ({"gin_config_files": ("nope.gin",)}, "--gin_config nope.gin"),
                          ({"gin_bindings": ("dataset.name = 'nope'",)}, "unknown dataset"),
                          ({"output_dir": None, "spaces": True}, "--spaces")]:
    with pytest.raises((ValueError, FileNotFoundError), match=message):
      options_lib.check_options(dataclasses.replace(good, **change))


def test_dataset_override_is_the_last_binding_and_auto_is_none():
  options = options_lib.EvaluationOptions(
      gin_bindings=("dataset.name = 'circle'", "mig.num_train = 5", "dataset.name='dummy_data'"))
  assert options.dataset_override == "dummy_data"
  assert options_lib.EvaluationOptions(gin_bindings=("dataset.name = 'auto'",)).dataset_override is None


def test_models_are_read_once_grouped_and_loaded_once(zoo, monkeypatch):
  dirs = models.find_models(zoo=zoo)
  infos, failures = models.read_models(dirs, dataset_override="circle")
  assert [i.name for i in infos] == ["0", "1", "2"] and {i.dataset for i in infos} == {"circle"}
  assert [f.model_dir for f in failures] == [dirs[3]] and "no saved model" in failures[0].reason
  assert list(models.by_dataset(infos)) == ["circle"]
  loads = []
  real = models.saved_model.load_model
  monkeypatch.setattr(models.saved_model, "load_model", lambda d: loads.append(d) or real(d))
  loader = models.ModelLoader()
  assert loader.loaded(dirs[0]) is None
  first, again = loader.load(dirs[0]), loader.load(dirs[0])
  assert first is again and loads == [dirs[0]] and loader.loaded(dirs[0]) is first


def test_sample_is_saved_reused_and_a_damaged_file_is_redrawn(tmp_path):
  drawn = sample.fingerprint_sample("synthetic_dsprites", size=20, seed=3, output_dir=str(tmp_path))
  assert drawn.observations.shape == (20, 64, 64, 1) and drawn.factors.shape == (20, 5)
  assert drawn.key == "synthetic_dsprites_n20_seed3" and drawn.size == 20
  again = sample.fingerprint_sample("synthetic_dsprites", size=20, seed=3, output_dir=str(tmp_path))
  np.testing.assert_array_equal(again.factors, drawn.factors)
  with open(drawn.path, "wb") as f:
    f.write(b"truncated")
  redrawn = sample.fingerprint_sample("synthetic_dsprites", size=20, seed=3,
                                      output_dir=str(tmp_path))
  np.testing.assert_array_equal(redrawn.factors, drawn.factors)
  assert os.path.exists(drawn.path + ".corrupt")
  with pytest.raises(ValueError, match="--fingerprint_size 100,000 exceeds the 2 distinct"):
    sample.check_sample_fits("tiny", type("D", (), {"factors_num_values": [2],
                                                    "observation_shape": [1],
                                                    "num_factors": 1})(), 100_000)


def test_embedding_is_computed_once_then_read_from_the_cache(zoo, tmp_path):
  info = model_info.read_model_info(os.path.join(zoo, "0"))
  drawn = sample.fingerprint_sample("synthetic_dsprites", size=60, seed=0, output_dir=str(tmp_path))
  loader = models.ModelLoader()
  stage = embedding.embed_models([info], drawn, cache_dir=str(tmp_path / "cache"), loader=loader,
                                 progress=False)
  (first,) = stage.embeddings
  assert stage.reused == 0 and first.mean.shape == (60, 3) and first.factor_nmi.shape == (3, 5)
  # The x and y ramps carry information; the noise channel carries less.
  assert first.channel_information[:2].min() > first.channel_information[2]
  names = drawn.factor_names
  assert names[int(np.argmax(first.factor_nmi[0]))] == "pos_x"
  fresh = models.ModelLoader()
  cached, was_cached = embedding.embed_model(info, drawn, cache_dir=str(tmp_path / "cache"),
                                             loader=fresh, factor_fingerprints=None)
  assert was_cached and fresh.loaded(info.model_dir) is None  # no model load for a cache hit
  np.testing.assert_array_equal(cached.mean, first.mean)


def test_groups_need_two_models_and_follow_numeric_order():
  def fake(name, beta):
    info = model_info.ModelInfo(model_dir=name, name=name, method="vae", method_label="beta-VAE",
                                hyperparameter="vae.beta", hyperparameter_value=beta, seed=0,
                                dataset="d", num_latent=2, bindings={})
    return embedding.ModelEmbedding(info, np.zeros((4, 2)), np.zeros((4, 2)), np.zeros(2), 0.0,
                                    np.zeros((2, 1)), np.zeros((2, 1)))
  embeddings = [fake("a", 16.0), fake("b", 2.0), fake("c", 16.0), fake("d", 2.0), fake("e", 4.0)]
  groups = structure.group_members(embeddings, per_hyperparameter=True)
  assert list(groups) == ["all", "beta-VAE beta=2", "beta-VAE beta=16"]
  np.testing.assert_array_equal(groups["beta-VAE beta=16"], [0, 1, 4, 5])
  assert list(structure.group_members(embeddings, per_hyperparameter=False)) == ["all"]


def test_pipeline_returns_typed_analysis_and_outputs_write_every_table(zoo, tmp_path):
  options = options_lib.EvaluationOptions(output_dir=str(tmp_path / "out"), fingerprint_size=150,
                                          min_samples=2, per_hyperparameter=True, progress=False)
  with warnings.catch_warnings():
    warnings.simplefilter("error", RuntimeWarning)  # a normal run prints no numerical noise
    analysis = pipeline.analyse_zoo(models.find_models(zoo=zoo), options)
  assert list(analysis.datasets) == ["synthetic_dsprites"]
  assert [f.model_dir for f in analysis.failures] == [os.path.join(zoo, "3")]
  result = analysis.datasets["synthetic_dsprites"]
  assert [row["model"] for row in result.models] == ["0", "1", "2"]
  assert all(row["active_channels"] >= 2 for row in result.models)
  nmi_rows = [h for h in result.hotspots if h["distance"] == "nmi" and h["group"] == "all"]
  assert nmi_rows and all(set(h["factor_nmi"]) == set(result.factor_names) for h in nmi_rows)
  assert {h["best_factor"] for h in nmi_rows} >= {"pos_x", "pos_y"}
  # beta = 4 has one model: no group of its own.
  assert [g["group"] for g in result.groups] == ["beta_vae beta=1"]
  assert set(result.details["stage_seconds"]) >= {"embedding", "metrics", "pairwise", "optics"}
  markdown = outputs.write_tables(analysis, {"command": ["test"]})
  for name in ("models.csv", "models.md", "hotspots.csv", "groups.csv", "results.json"):
    assert os.path.getsize(tmp_path / "out" / name) > 0
  assert markdown.spaces is None and "| model |" in markdown.models
  document = outputs.results_document(analysis, {"command": ["test"]})
  assert document["run"] == {"command": ["test"]} and len(document["models"]) == 3


def test_pipeline_rejects_a_sample_that_cannot_fit_before_any_work(zoo, tmp_path):
  options = options_lib.EvaluationOptions(output_dir=str(tmp_path / "out"),
                                          fingerprint_size=10**9, progress=False)
  with pytest.raises(pipeline.EvaluationInputError, match="--fingerprint_size"):
    pipeline.analyse_zoo(models.find_models(zoo=zoo), options)
  assert not os.path.exists(tmp_path / "out" / "cache")


def test_inactive_channels_stay_out_of_the_pairwise_stage_and_show_as_inactive(tmp_path):
  rng = np.random.default_rng(0)
  angle = rng.uniform(0, 2 * np.pi, 80)
  def fake(name, columns):
    info = model_info.ModelInfo(model_dir=str(tmp_path / name), name=name, method="vae",
                                method_label="beta_vae", hyperparameter="vae.beta",
                                hyperparameter_value=1.0, seed=0, dataset="d", num_latent=3,
                                bindings={})
    mean = np.stack(columns, axis=1)
    logvar = np.full_like(mean, -6.0)
    information, total, nmi, vi = embedding.channel_statistics(
        mean, logvar, np.zeros((1, 80, 80)))
    return embedding.ModelEmbedding(info, mean, logvar, information, total, nmi, vi)
  # Channel 2 of each model is constant: no information.
  embeddings = [fake(n, [np.cos(angle + s), np.sin(angle + s), np.zeros(80)])
                for n, s in (("a", 0.0), ("b", 0.01))]
  selected = pairwise.selected_channels(embeddings)
  np.testing.assert_array_equal(selected, [0, 1, 3, 4])
  np.testing.assert_array_equal(pairwise.selected_channels(embeddings, include_inactive=True),
                                np.arange(6))
  matrices = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path), progress=False)
  assert matrices.nmi.shape == (4, 4) and not matrices.cached
  everything = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path), progress=False,
                                          channels=np.arange(6))
  # The same pairs give the same numbers whether or not the inactive channels are there.
  np.testing.assert_allclose(everything.nmi[np.ix_(selected, selected)], matrices.nmi, atol=1e-12)
  found = structure.find_structures(embeddings, matrices, min_samples=2, per_hyperparameter=False)
  nmi_structure = found["nmi"]["all"]
  assert nmi_structure.channel_ids == ["a:0", "a:1", "b:0", "b:1"]
  labels = structure.hotspot_label_of(nmi_structure, embedding.channel_ids(embeddings))
  assert labels[2] == -2 and labels[5] == -2 and all(label >= -1 for label in labels[:2])
  # A collapsed ensemble (no active channel) has empty matrices and no hotspot, not an error.
  none = pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path), progress=False,
                                    channels=np.zeros(0, dtype=np.int64))
  assert none.nmi.shape == (0, 0)
  empty = structure.find_structures(embeddings, none, min_samples=2, per_hyperparameter=False)
  assert empty["nmi"]["all"].hotspots == []
  # Each hotspot's representative (traversals, fusion) is one of its own members.
  for hotspot in nmi_structure.hotspots:
    assert structure.representative(hotspot, nmi_structure) in hotspot.members


def test_a_fully_collapsed_ensemble_is_analysed_and_reported(tmp_path):
  # Every channel inactive (constant encoders): no pairs, no hotspots, still tables and a report.
  from infofrag.reports import html_report
  root = str(tmp_path / "zoo")
  for number in range(2):
    tf1_hub.build_tf1_hub_model(
        # Distinct log-variances: identical constant encoders would be one model counted once.
        os.path.join(root, str(number)), np.zeros((tf1_hub.PIXELS, 2), np.float32),
        logvar_value=0.1 * number,
        bindings={"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
                  "model.name": "'beta_vae'", "vae.beta": "16.0",
                  "model.random_seed": str(number), "encoder.num_latent": "2"})
  options = options_lib.EvaluationOptions(output_dir=str(tmp_path / "out"), fingerprint_size=60,
                                          min_samples=2, per_hyperparameter=True, progress=False)
  analysis = pipeline.analyse_zoo(models.find_models(zoo=root), options)
  result = analysis.datasets["synthetic_dsprites"]
  assert [row["active_channels"] for row in result.models] == [0, 0]
  assert result.hotspots == [] and result.details["pairwise_channels"] == 0
  assert all(row["hotspot_per_channel"] == [-2, -2] for row in result.models)
  outputs.write_tables(analysis, {"command": ["test"]})
  report = html_report.write_report(options.output_dir, run_info=html_report.collect_run_info(
      ["infofrag_evaluate"], 0.0))
  assert "No scatter" in open(report).read()
