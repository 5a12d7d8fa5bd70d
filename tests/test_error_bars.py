"""Intervals over models, hotspot stability, chance levels and the model-selection table."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from infofrag import fragments
from infofrag.analysis import options as options_lib
from infofrag.analysis import outputs
from infofrag.analysis import pipeline
from infofrag.analysis import resampling
from infofrag.analysis import selection
from infofrag.analysis import simulation
from infofrag.analysis import uncertainty
from infofrag.fragments import chance
from infofrag.reports import html_report
from infofrag.zoo import loading as models
from tests.helpers import tf1_hub


# ---------------------------------------------------------------- resampling


def test_subsets_are_all_delete_d_subsets_or_distinct_random_ones():
  every = resampling.model_subsets(5, resamples=200)
  assert (every.deleted, every.count, every.exhaustive) == (2, 10, True)
  assert {tuple(k) for k in every.keep} == {
      tuple(sorted(set(range(5)) - {a, b})) for a in range(5) for b in range(a + 1, 5)}
  drawn = resampling.model_subsets(50, resamples=40, seed=3)
  assert drawn.deleted == 7 and drawn.keep.shape == (40, 43) and not drawn.exhaustive
  assert len({tuple(k) for k in drawn.keep}) == 40
  np.testing.assert_array_equal(drawn.keep, resampling.model_subsets(50, resamples=40,
                                                                     seed=3).keep)
  assert resampling.deleted_count(2) == 1 and resampling.deleted_count(3) == 1
  assert resampling.deleted_count(4) == 2 and resampling.deleted_count(10) == 3
  assert "delete-2 jackknife, all 10 subsets of 5 models" == every.describe()


def test_the_interval_of_a_mean_is_the_student_t_interval():
  values = np.array([0.12, 0.31, 0.25, 0.08, 0.4, 0.22, 0.19])
  subsets = resampling.model_subsets(values.size, resamples=1000)
  low, high = resampling.jackknife_interval([values.mean()],
                                            resampling.subset_means(values, subsets), subsets)
  half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
  np.testing.assert_allclose([low[0], high[0]], [values.mean() - half, values.mean() + half])


def test_a_group_of_two_models_gets_wide_mean_intervals_and_no_structure_resamples():
  subsets = resampling.model_subsets(2)
  np.testing.assert_array_equal(subsets.keep, [[0], [1]])
  values = np.array([0.2, 0.4])
  low, high = resampling.jackknife_interval([0.3], resampling.subset_means(values, subsets),
                                            subsets, bounds=[(0.0, 1.0)])
  # t(1) = 12.7 times the standard error 0.1: clipped to the range of the statistic.
  assert (low[0], high[0]) == (0.0, 1.0)
  # A statistic that no resample defines has no interval.
  low, high = resampling.jackknife_interval([0.5], np.full((2, 1), np.nan), subsets)
  assert np.isnan(low[0]) and np.isnan(high[0])


def _near_copies(num_models, num_points=150, seed=0):
  """Models whose channels are the same two signals up to 1e-6 (not bit-identical)."""
  rng = np.random.default_rng(seed)
  signals = rng.normal(size=(num_points, 2))
  mean = np.concatenate([signals + 1e-6 * rng.normal(size=signals.shape)
                         for _ in range(num_models)], axis=1)
  logvar = np.full_like(mean, np.log(0.05))
  owner = np.repeat(np.arange(num_models), 2)
  return mean, logvar, owner


def test_near_identical_models_give_zero_width_intervals_and_stable_hotspots():
  mean, logvar, owner = _near_copies(5)
  nmi, vi = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mean, logvar))
  information = fragments.information(fragments.LazyFingerprints(mean, logvar))
  structure = fragments.structure_from_matrices(nmi, vi, information, distance="nmi",
                                                min_samples=3)
  assert len(structure.hotspots) == 2
  subsets = resampling.model_subsets(5)
  redone = resampling.resample_structure(structure, owner, subsets, min_samples=3)
  # Each hotspot is in every model: it reappears in every resample.
  np.testing.assert_array_equal(redone.stability, [1.0, 1.0])
  estimate = resampling.structure_statistics(structure)
  low, high = resampling.jackknife_interval(estimate, redone.statistics, subsets)
  np.testing.assert_allclose(low, estimate, atol=1e-12)
  np.testing.assert_allclose(high, estimate, atol=1e-12)


def test_a_hotspot_of_few_models_is_less_stable_than_one_in_every_model():
  rng = np.random.default_rng(1)
  shared, rare = rng.normal(size=(2, 200))
  columns, owner = [], []
  for model in range(6):
    columns.append(shared + 0.2 * rng.normal(size=200))
    owner.append(model)
    if model < 3:  # the rare signal is carried by models 0-2 only
      columns.append(rare + 0.2 * rng.normal(size=200))
      owner.append(model)
  mean = np.stack(columns, axis=1)
  logvar = np.full_like(mean, np.log(0.05))
  nmi, vi = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mean, logvar))
  information = fragments.information(fragments.LazyFingerprints(mean, logvar))
  structure = fragments.structure_from_matrices(nmi, vi, information, distance="nmi",
                                                min_samples=3)
  members = [set(np.asarray(owner)[h.indices]) for h in structure.hotspots]
  assert set(range(6)) in members and {0, 1, 2} in members
  redone = resampling.resample_structure(structure, np.array(owner),
                                         resampling.model_subsets(6), min_samples=3)
  stability = dict(zip(map(frozenset, members), redone.stability))
  assert stability[frozenset(range(6))] == 1.0
  # Needs all three of its models (min_samples 3): 1 - P(one of them is left out).
  assert stability[frozenset({0, 1, 2})] == pytest.approx(1 - 12 / 15)


def test_jaccard_matching_uses_only_the_kept_members():
  reference = np.array([[1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]], dtype=bool)
  found = np.array([[1, 1, 0, 0, 0, 0]], dtype=bool)
  kept = np.array([1, 1, 0, 0, 1, 1], dtype=bool)
  np.testing.assert_allclose(resampling.best_jaccard(reference, found, kept), [1.0, 0.0])


# ---------------------------------------------------------------- coverage


def test_intervals_cover_the_true_group_values_of_simulated_ensembles():
  # The fast version of benchmarks/coverage.py: 30 ensembles of 6 models, N = 120.
  population = simulation.make_population(num_points=120)
  result = simulation.coverage(population, num_models=6, repeats=30, seed=7)
  rates = result.rates()
  for name in ("mean_active_channels", "fraction_in_hotspots", "mean_hotspot_nmi"):
    assert 0.85 <= rates[name] <= 1.0, rates
  # A count at 6 models: a source seen in fewer than min_samples models is no hotspot.
  assert rates["hotspots"] >= 0.7, rates
  widths = np.nanmean(result.widths, axis=0)
  assert widths[2] < 0.95 and widths[3] < 0.95, widths  # not the whole range [0, 1]


# ---------------------------------------------------------------- chance levels


def test_unshuffled_nulls_equal_the_estimator_and_both_class_sum_ways_agree(monkeypatch):
  rng = np.random.default_rng(0)
  factors = np.stack([rng.integers(0, k, 150) for k in (2, 7, 30)], axis=1)
  mean = np.stack([factors[:, 1] + 0.3 * rng.normal(size=150), rng.normal(size=150)], axis=1)
  logvar = np.full_like(mean, np.log(0.1))
  identity = np.arange(150)[None, :]
  expected, _ = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mean, logvar),
                                          fragments.factor_fingerprints(factors))
  # Single-precision coefficients, double-precision sums: equal to ~1e-7.
  np.testing.assert_allclose(chance.factor_nmi_null(mean, logvar, factors, shuffles=identity)[0],
                             expected, atol=1e-6)
  shuffles = chance.permutations(150, 5, seed=2)
  one_way = chance.factor_nmi_null(mean, logvar, factors, shuffles=shuffles)
  monkeypatch.setattr(chance, "_GATHER_COST", 1e9)  # matrix products for every factor
  np.testing.assert_allclose(chance.factor_nmi_null(mean, logvar, factors, shuffles=shuffles),
                             one_way, atol=1e-6)
  monkeypatch.setattr(chance, "_GATHER_COST", 0.0)  # gathers for every factor
  np.testing.assert_allclose(chance.factor_nmi_null(mean, logvar, factors, shuffles=shuffles),
                             one_way, atol=1e-6)
  pair, _ = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mean, logvar))
  np.testing.assert_allclose(chance.pair_nmi_null(mean, logvar, [[0, 1]], shuffles=identity),
                             [pair[0, 1]], atol=1e-6)


def test_a_channel_against_itself_shuffled_is_near_zero_and_its_factor_far_above_chance():
  rng = np.random.default_rng(3)
  factor = rng.integers(0, 10, 400)
  mean = (factor + 0.4 * rng.normal(size=400))[:, None]
  logvar = np.full_like(mean, np.log(0.2))
  shuffles = chance.permutations(400, 100, seed=0)
  itself = chance.pair_nmi_null(mean, logvar, np.zeros((100, 2), dtype=int), shuffles=shuffles)
  assert chance.chance_level(itself) < 0.06 and abs(np.median(itself)) < 0.04
  null = chance.factor_nmi_null(mean, logvar, factor[:, None], shuffles=shuffles)
  actual, _ = fragments.pairwise_nmi_vi(fragments.LazyFingerprints(mean, logvar),
                                        fragments.factor_fingerprints(factor[:, None]))
  level = chance.chance_level(null)[0, 0]
  assert level < 0.1 and actual[0, 0] > 5 * level


def test_a_channel_that_separates_every_point_has_a_high_chance_level():
  # NMI with any labelling is then sqrt(H(Y) / log2 N): chance is far from 0.
  rng = np.random.default_rng(0)
  mean = np.sort(rng.normal(size=300))[:, None] * 100
  labels = rng.integers(0, 2, 300)[:, None]
  null = chance.factor_nmi_null(mean, np.full_like(mean, np.log(1e-4)), labels,
                                shuffles=chance.permutations(300, 30, seed=1))
  assert np.median(null) == pytest.approx(math.sqrt(1 / math.log2(300)), abs=0.02)


# ---------------------------------------------------------------- selection


def test_a_score_that_ranks_models_like_mig_has_rho_one_and_an_interval_above_zero():
  rng = np.random.default_rng(0)
  mig = rng.uniform(0.0, 0.5, 12)
  scores = {"udr_lasso": np.exp(3 * mig), "noise": rng.normal(size=12)}
  rows = selection.selection_rows("d", scores, {"mig": mig}, resamples=200, seed=0)
  by_score = {row["score"]: row for row in rows}
  assert "udr" not in by_score  # UDR columns found: no "not computed" row
  assert by_score["udr_lasso"]["mig"] == pytest.approx(1.0)
  assert by_score["udr_lasso"]["mig_low"] > 0.5
  noise = by_score["noise"]
  assert noise["mig_low"] < noise["mig"] < noise["mig_high"]
  assert noise["mig_low"] < 0 < noise["mig_high"]


def test_selection_without_udr_says_so_and_handles_constant_scores():
  rows = selection.selection_rows("d", {"flat": np.ones(5)}, {"mig": np.arange(5.0)},
                                  resamples=50, seed=0)
  assert rows[0]["score"] == "udr" and "not computed" in rows[0]["note"]
  assert rows[1]["mig"] is None and "the same for every model" in rows[1]["note"]


def test_spearman_bootstrap_leaves_out_missing_pairs():
  x = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
  rho, low, high, count = selection.spearman_bootstrap(x, x ** 2, resamples=100, seed=1)
  assert (rho, count) == (pytest.approx(1.0), 5) and low == pytest.approx(1.0)


# ---------------------------------------------------------------- display


def test_interval_and_chance_display():
  rows = [{"a": 0.5, "a_low": 0.25, "a_high": 0.75, "b": 0.1, "b_chance": 0.2, "n": 2,
           "n_low": 1.5, "n_high": 2.5}]
  shown = uncertainty.display_rows(rows, ("a", "n"), ("b", "a"))
  assert shown[0]["a"] == "0.500 [0.250, 0.750]" and shown[0]["n"] == "2 [1.5, 2.5]"
  assert shown[0]["b"] == "0.100" + uncertainty.CHANCE_MARK
  assert rows[0]["a"] == 0.5  # the rows themselves are not changed


def test_report_shades_per_channel_values_at_chance():
  mark = uncertainty.CHANCE_MARK
  table = {"columns": ["model", "best_factor_per_channel"],
           "rows": [["0", f"pos_x:0.61 scale:0.05{mark} -"], ["1", "pos_y:0.60 -"]]}
  rows = html_report._table(table, "models", "Models")["rows"]
  assert [(p["text"], p["chance"]) for p in rows[0][1]["parts"]] == [
      ("pos_x:0.61", False), (f"scale:0.05{mark}", True), ("-", False)]
  assert "parts" not in rows[1][1]  # nothing at chance: the plain cell


def test_options_check_the_new_flags():
  good = options_lib.EvaluationOptions()
  options_lib.check_analysis_values(good)
  options_lib.check_analysis_values(options_lib.EvaluationOptions(resamples=0, permutations=0))
  for change, message in [({"resamples": 1}, "--resamples must be 0 \\(off\\) or at least 2"),
                          ({"permutations": 10}, "--permutations must be 0"),
                          ({"resample_seed": -1}, "--resample_seed must be an integer")]:
    with pytest.raises(ValueError, match=message):
      options_lib.check_analysis_values(options_lib.EvaluationOptions(**change))
  assert {"resamples", "resample_seed", "permutations"} <= set(good.settings)


# ---------------------------------------------------------------- the whole analysis

@pytest.fixture(scope="module", name="analysis")
def fixture_analysis(tmp_path_factory):
  """Five linear encoders reading x and y (beta 1: three models, beta 4: two), analysed."""
  root = str(tmp_path_factory.mktemp("zoo"))
  rng = np.random.RandomState(0)
  for number in range(5):
    weights = np.stack([tf1_hub.ramp(1) + rng.normal(0, 0.005, tf1_hub.PIXELS),
                        tf1_hub.ramp(0) + rng.normal(0, 0.005, tf1_hub.PIXELS),
                        rng.normal(0, 0.02, tf1_hub.PIXELS)], axis=1)
    tf1_hub.build_tf1_hub_model(
        os.path.join(root, str(number)), weights.astype(np.float32), logvar_value=-4.0,
        bindings={"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
                  "model.name": "'beta_vae'", "vae.beta": "1.0" if number < 3 else "4.0",
                  "model.random_seed": str(number), "encoder.num_latent": "3"})
  options = options_lib.EvaluationOptions(
      output_dir=str(tmp_path_factory.mktemp("out")), fingerprint_size=120, min_samples=2,
      per_hyperparameter=True, metrics=("mig",), progress=False, permutations=40,
      gin_bindings=("mig.num_train = 100",))
  result = pipeline.analyse_zoo(models.find_models(zoo=root), options)
  markdown = outputs.write_tables(result, {"command": ["test"]})
  return result, markdown


def test_the_analysis_writes_intervals_stability_chance_and_selection(analysis):
  result, markdown = analysis
  dataset = result.datasets["synthetic_dsprites"]
  groups = {row["group"]: row for row in dataset.groups}
  three, two = groups["beta_vae beta=1"], groups["beta_vae beta=4"]
  assert three["resampling"] == "delete-1 jackknife, all 3 subsets of 3 models"
  for row in (three, two):
    assert row["mean_mig_low"] <= row["mean_mig"] <= row["mean_mig_high"]
    assert 0.0 <= row["mean_hotspot_nmi_chance"] < row["mean_hotspot_nmi"]
  # Two models: resamples of one model cannot be clustered; the means still get intervals.
  assert two["hotspots_low"] is None and two["mean_active_channels_low"] is not None
  assert "structure not resampled" in two["resampling"]
  assert all(0.0 <= row["stability"] <= 1.0 for row in dataset.hotspots
             if row["group"] != "beta_vae beta=4")
  assert all(row["stability"] is None for row in dataset.hotspots
             if row["group"] == "beta_vae beta=4")
  assert all(set(row["factor_nmi_chance"]) == set(dataset.factor_names)
             for row in dataset.hotspots)
  assert all(len(row["best_factor_chance_per_channel"]) == 3 for row in dataset.models)
  assert [row["group"] for row in dataset.metrics_by_hyperparameter] == [
      "all", "beta_vae beta=1", "beta_vae beta=4"]
  scores = [row["score"] for row in dataset.selection]
  # UDR per hyperparameter group (the analysis computes it on the fingerprint points).
  assert {"udr_lasso", "udr_spearman", "fraction_in_hotspots", "best_match_nmi",
          "info_bits_bound"} <= set(scores)
  assert all(0.0 <= row["udr_lasso"] <= 1.0 for row in dataset.models if "udr_lasso" in row)
  assert set(dataset.details["stage_seconds"]) >= {"resampling", "chance", "selection"}
  assert " [" in markdown.groups and "jackknife" in markdown.groups
  assert "stability" in markdown.hotspots and "Spearman" in markdown.selection


def test_results_json_and_the_report_carry_the_method_and_the_shading(analysis):
  from infofrag.reports import html_report
  result, _ = analysis
  out = result.options.output_dir
  with open(os.path.join(out, "results.json")) as f:
    document = json.load(f)
  settings = document["settings"]
  assert (settings["resamples"], settings["resample_seed"], settings["permutations"]) == (
      200, 0, 40)
  assert document["uncertainty"]["intervals"]["method"] == "delete-d jackknife over models"
  assert document["selection"] and "metrics_by_hyperparameter" in document["tables"]
  with open(os.path.join(out, "groups.csv")) as f:
    header = f.readline().strip().split(",")
  assert {"fraction_in_hotspots_low", "fraction_in_hotspots_high", "resampling"} <= set(header)
  report = html_report.write_report(out, run_info=html_report.collect_run_info(["t"], 0.0))
  html = open(report).read()
  assert "Model selection" in html and "stability" in html and "jackknife" in html
  context = html_report.build_context(out, html_report.collect_run_info(["t"], 0.0))
  groups_table = next(t for t in context["tables"] if t["id"] == "groups")
  assert "fraction_in_hotspots_low" not in groups_table["columns"]  # folded into the cell
  assert any(" [" in cell["text"] for row in groups_table["rows"] for cell in row)




def test_udr_per_group_is_in_the_models_table_results_and_report(analysis):
  from infofrag.reports import html_report
  result, _ = analysis
  dataset = result.datasets["synthetic_dsprites"]
  udr = dataset.details["udr"]
  assert set(udr) == {"beta_vae beta=1", "beta_vae beta=4"}
  three = udr["beta_vae beta=1"]
  assert three["models"] == ["0", "1", "2"]
  assert np.asarray(three["lasso"]).shape == (3, 3) == np.asarray(three["spearman"]).shape
  by_model = {row["model"]: row for row in dataset.models}
  assert all(0.0 <= by_model[m]["udr_lasso"] <= 1.0 for m in ("0", "1", "2", "3", "4"))
  page = html_report.render(html_report.build_context(
      result.options.output_dir, html_report.collect_run_info(["infofrag_evaluate"], 0.0)))
  assert "UDR between the models of beta_vae beta=1" in page
