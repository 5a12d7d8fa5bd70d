"""Dataset-level metrics on synthetic_dsprites: dlib's sampling, gin configs, registry."""

import os

import gin
import numpy as np
import pytest

from infofrag.data import named_data
from infofrag.evaluation import evaluate  # registers dlib's `evaluation` configurable
from infofrag.metrics import mig
from infofrag.metrics import registry
from infofrag.metrics import utils
from infofrag.utils import paths

# Small sizes so each metric runs in seconds; the shipped configs hold dlib's defaults.
_SMALL_BINDINGS = {
    "mig": ["mig.num_train = 300"],
    "sap_score": ["sap_score.num_train = 200", "sap_score.num_test = 100", "sap_score.n_jobs = 1"],
    "dci": ["dci.num_train = 200", "dci.num_test = 100", "dci.n_jobs = 1"],
    "beta_vae_sklearn": ["beta_vae_sklearn.num_train = 60", "beta_vae_sklearn.num_eval = 30",
                         "beta_vae_sklearn.batch_size = 8"],
    "factor_vae_metric": ["factor_vae_score.num_variance_estimate = 300",
                          "factor_vae_score.num_train = 60", "factor_vae_score.num_eval = 30",
                          "factor_vae_score.batch_size = 16"],
    "modularity_explicitness": ["modularity_explicitness.num_train = 300",
                                "modularity_explicitness.num_test = 300"],
    "irs": ["irs.num_train = 300"],
    "unsupervised": ["unsupervised_metrics.num_train = 300"],
    "downstream_task_logistic_regression": ["downstream_task.num_train = [20, 40]",
                                            "downstream_task.num_test = 20"],
    "downstream_task_boosted_trees": ["downstream_task.num_train = [20, 40]",
                                      "downstream_task.num_test = 20"],
    "fairness": ["fairness.num_train = 60", "fairness.num_test_points_per_class = 2"],
}
_RESULT_KEYS = {
    "mig": {"discrete_mig"}, "sap_score": {"SAP_score"},
    "dci": {"disentanglement", "completeness", "informativeness_train", "informativeness_test"},
    "beta_vae_sklearn": {"train_accuracy", "eval_accuracy"},
    "factor_vae_metric": {"train_accuracy", "eval_accuracy", "num_active_dims"},
    "modularity_explicitness": {"modularity_score", "explicitness_score_train",
                                "explicitness_score_test"},
    "irs": {"IRS", "num_active_dims"},
    "unsupervised": {"gaussian_total_correlation", "gaussian_wasserstein_correlation",
                     "gaussian_wasserstein_correlation_norm", "mutual_info_score"},
    "downstream_task_logistic_regression": {
        f"{size}:{kind}_{part}_accuracy" for size in (20, 40) for kind in ("mean", "min")
        for part in ("train", "test")} | {"40:test_accuracy_factor_4"},
    "downstream_task_boosted_trees": {"20:mean_test_accuracy", "40:min_train_accuracy",
                                      "20:train_accuracy_factor_0"},
    "fairness": {"mean_fairness:mean_pred:mean_sens", "max_fairness:max_sens:max_pred",
                 "mean_fairness:pred0:sens4", "max_fairness:sens2:mean_pred"},
}


def moment_codes(images):
  """Cheap deterministic representation: sprite centroid, size and a mixed code [B, 4]."""
  images = images[..., 0].astype(np.float64)
  area = images.sum(axis=(1, 2))
  rows, cols = np.arange(64.0), np.arange(64.0)
  center_x = (images.sum(axis=1) * cols).sum(axis=1) / area
  center_y = (images.sum(axis=2) * rows).sum(axis=1) / area
  return np.stack([center_x, center_y, np.sqrt(area), center_x + center_y], axis=1)


@pytest.fixture(scope="module")
def data():
  return named_data.get_named_ground_truth_data("synthetic_dsprites")


@pytest.fixture(autouse=True)
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_generate_batch_factor_code_draws_like_dlib(data):
  codes, factors = utils.generate_batch_factor_code(
      data, moment_codes, 40, np.random.RandomState(3), batch_size=16)
  manual = np.random.RandomState(3)
  expected = [data.sample(size, manual) for size in (16, 16, 8)]  # dlib's batches of 16
  np.testing.assert_array_equal(factors, np.concatenate([f for f, _ in expected]))
  np.testing.assert_array_equal(codes, np.concatenate([moment_codes(x) for _, x in expected]))
  assert codes.shape == (40, 4) and factors.shape == (40, 5)
  other, _ = utils.generate_batch_factor_code(data, moment_codes, 40,
                                              np.random.RandomState(3), batch_size=40)
  assert not np.array_equal(other, codes)  # the batch size is part of the random stream


def test_representation_function_with_wrong_output_is_named(data):
  with pytest.raises(ValueError, match=r"must map 16 observations to an array \[16, num_codes\]"):
    utils.generate_batch_factor_code(data, lambda x: np.zeros(len(x)), 20,
                                     np.random.RandomState(0), 16)
  with pytest.raises(ValueError, match="NaN or infinite codes"):
    utils.generate_batch_factor_code(data, lambda x: np.full((len(x), 2), np.nan), 20,
                                     np.random.RandomState(0), 16)


def test_dataset_mig_equals_array_mig_and_finds_positions(data):
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", "mig.gin")],
                                      ["mig.num_train = 2000"])
  result = mig.evaluate_mig(data, moment_codes, np.random.RandomState(0))
  codes, factors = utils.generate_batch_factor_code(data, moment_codes, 2000,
                                                    np.random.RandomState(0), 16)
  assert result == mig.compute_mig(codes, factors, num_bins=20)
  per_factor = result["discrete_mig_per_factor"]
  # pos_x, pos_y (factors 3, 4) have centroid codes, scale (1) the size code; no code
  # follows orientation (2).
  assert per_factor[1] > 0.3 and per_factor[3] > 0.3 and per_factor[4] > 0.3
  assert per_factor[2] < 0.05


# DCI at its shipped sizes takes ~30 s of gradient-boosted trees: slow (tests/test_metrics_dci.py
# covers the metric itself in the default suite). The downstream tasks and fairness fit one
# classifier per factor over dsprites' 40 orientations (15-30 s even at these sizes): slow too
# (tests/test_metrics_downstream_fairness_udr.py runs their configs on a small dataset).
_SLOW_HERE = {"dci", "downstream_task_logistic_regression", "downstream_task_boosted_trees",
              "fairness"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow)
                                  if name in _SLOW_HERE else name
                                  for name in sorted(registry.METRICS)])
def test_each_shipped_config_runs_through_gin(data, name):
  config = paths.gin_config_path("evaluate", f"{name}.gin")
  gin.parse_config_files_and_bindings([config], _SMALL_BINDINGS[name])
  assert gin.query_parameter("dataset.name") == "auto"
  assert gin.query_parameter("evaluation.random_seed") == 0
  result = registry.METRICS[name](data, moment_codes, np.random.RandomState(0))
  assert _RESULT_KEYS[name] <= set(result)
  assert all(np.isfinite(value) for value in result.values()
             if np.isscalar(value) and not isinstance(value, str))  # dci records its "mode"
  again = registry.METRICS[name](data, moment_codes, np.random.RandomState(0))
  assert again == result  # same seed, same numbers


def test_shipped_configs_hold_dlib_defaults():
  text = open(paths.gin_config_path("evaluate", "factor_vae_metric.gin")).read()
  for line in ("factor_vae_score.num_variance_estimate = 10000", "factor_vae_score.num_train = 10000",
               "factor_vae_score.num_eval = 5000", "factor_vae_score.batch_size = 64",
               "prune_dims.threshold = 0.05", "evaluation.evaluation_fn = @factor_vae_score"):
    assert line in text
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", "sap_score.gin")], [])
  assert gin.query_parameter("sap_score.num_train") == 10000
  assert gin.query_parameter("sap_score.num_test") == 5000
  assert gin.query_parameter("sap_score.continuous_factors") is False
  assert set(os.listdir(os.path.dirname(paths.gin_config_path("evaluate", "mig.gin")))) >= {
      f"{name}.gin" for name in registry.METRICS}


def test_factor_vae_and_beta_vae_see_the_position_codes(data):
  gin.parse_config_files_and_bindings(
      [paths.gin_config_path("evaluate", "factor_vae_metric.gin")],
      _SMALL_BINDINGS["factor_vae_metric"])
  result = registry.METRICS["factor_vae_metric"](data, moment_codes, np.random.RandomState(1))
  assert result["eval_accuracy"] > 0.35  # chance is 0.2 (five factors)
  assert result["num_active_codes"] == 4


def test_resolve_metric_names():
  assert registry.resolve_metric_names("mig,sap,dci") == ["mig", "sap_score", "dci"]
  assert registry.resolve_metric_names("MIG, beta_vae ,factor_vae,modularity,mig") == [
      "mig", "beta_vae_sklearn", "factor_vae_metric", "modularity_explicitness"]
  assert registry.resolve_metric_names("all") == list(registry.METRICS)
  assert len(registry.resolve_metric_names(["all", "dci"])) == len(registry.METRICS) == 11
  assert registry.resolve_metric_names("downstream_task,fairness") == [
      "downstream_task_logistic_regression", "downstream_task_boosted_trees", "fairness"]
  with pytest.raises(ValueError, match="udr_sklearn scores a group of models"):
    registry.resolve_metric_names("mig,udr")
  with pytest.raises(ValueError, match=r"Unknown metric 'migg'; valid metrics: beta_vae_sklearn"):
    registry.resolve_metric_names("mig,migg")
  with pytest.raises(ValueError, match="No metric named"):
    registry.resolve_metric_names(" , ")
