"""downstream_task, fairness and UDR without the dlib oracle: values by hand, properties,
validation messages and the shipped gin configs (tests/test_metrics_dlib_parity.py compares
them with dlib's own code)."""

import gin
import numpy as np
import pytest
import threadpoolctl

from infofrag.evaluation import evaluate
from infofrag.evaluation import representation
from infofrag.metrics import downstream_task
from infofrag.metrics import fairness
from infofrag.metrics import registry
from infofrag.metrics import udr
from infofrag.metrics import utils
from infofrag.utils import paths
from tests.helpers import small_data


@pytest.fixture(autouse=True)
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
  with threadpoolctl.threadpool_limits(1):  # tiny classifiers: BLAS threads only wait
    yield


@pytest.fixture(scope="module")
def data():
  return small_data.SmallFactors()


# ---------------------------------------------------------------------------- fairness

def test_inter_group_fairness_by_hand():
  # Predictions follow the sensitive value exactly: each group's distribution is a point
  # mass, the pooled one is uniform, so every total variation is 1/2.
  assert fairness.inter_group_fairness([[2, 0], [0, 2]]) == (0.5, 0.5)
  # Predictions ignore the sensitive value: no unfairness.
  assert fairness.inter_group_fairness([[3, 3, 3], [1, 1, 1]]) == (0.0, 0.0)
  # Groups of sizes 4 and 2: TV 1/6 and 1/3 from the pooled (2/3, 1/3), weighted (4, 2).
  mean, largest = fairness.inter_group_fairness([[3, 1], [1, 1]])
  assert mean == pytest.approx((4 / 6) * (1 / 12) + (2 / 6) * (1 / 6), abs=1e-7)
  assert largest == pytest.approx(1 / 6, abs=1e-7)


def test_fairness_scores_keys_and_values():
  matrix = np.array([[9.0, 0.1, 0.2], [0.3, 9.0, 0.4], [0.5, 0.6, 9.0]])  # diagonal ignored
  scores = fairness.fairness_scores(matrix, "mean_fairness")
  assert scores["mean_fairness:pred0:sens2"] == 0.2
  assert scores["mean_fairness:pred1:mean_sens"] == pytest.approx(0.35)
  assert scores["mean_fairness:pred2:max_sens"] == 0.6
  assert scores["mean_fairness:sens0:mean_pred"] == pytest.approx(0.4)
  assert scores["mean_fairness:sens1:max_pred"] == 0.6
  # Row statistics (over sensitive factors) then over targets, and the transpose.
  assert scores["mean_fairness:mean_pred:max_sens"] == pytest.approx((0.2 + 0.4 + 0.6) / 3)
  assert scores["mean_fairness:max_pred:mean_sens"] == pytest.approx(0.55)
  assert scores["mean_fairness:mean_sens:max_pred"] == pytest.approx((0.5 + 0.6 + 0.4) / 3)
  assert scores["mean_fairness:max_sens:mean_pred"] == pytest.approx(0.4)
  assert len(scores) == 6 + 2 * 3 + 2 * 3 + 8
  assert all(9.0 not in (value,) for value in scores.values())


def test_fairness_of_a_representation_blind_to_the_sensitive_factors_is_low(data):
  # Codes that see only factor 0: its classifier's predictions do not move when another
  # factor is intervened on (only the observation noise does).
  gin.bind_parameter("predictor.predictor_fn", utils.logistic_regression_cv)
  only_first = lambda x: np.asarray(x[:, :1], dtype=np.float64)
  result = fairness.evaluate_fairness(data, only_first, np.random.RandomState(0), num_train=200,
                                      num_test_points_per_class=30)
  assert result["mean_fairness:pred0:mean_sens"] < 0.15
  assert set(result) >= {"mean_fairness:mean_pred:mean_sens", "max_fairness:max_pred:max_sens"}


@pytest.mark.parametrize("binding,value,message", [
    ("num_train", 0, "fairness.num_train must be a positive integer"),
    ("num_test_points_per_class", 2.5, "fairness.num_test_points_per_class must be a positive"),
    ("batch_size", -1, "fairness.batch_size must be a positive integer"),
])
def test_fairness_names_bad_bindings(data, binding, value, message):
  options = {"num_train": 10, "num_test_points_per_class": 2, binding: value}
  with pytest.raises(ValueError, match=message):
    fairness.evaluate_fairness(data, small_data.linear_codes(0), np.random.RandomState(0),
                               **options)


# --------------------------------------------------------------------- downstream_task

def test_downstream_keys_in_dlib_order():
  scores = downstream_task.scores_for_size(10, np.array([1.0, 0.5]), np.array([0.75, 0.25]))
  assert list(scores) == [
      "10:mean_train_accuracy", "10:mean_test_accuracy", "10:min_train_accuracy",
      "10:min_test_accuracy", "10:train_accuracy_factor_0", "10:test_accuracy_factor_0",
      "10:train_accuracy_factor_1", "10:test_accuracy_factor_1"]
  assert scores["10:mean_test_accuracy"] == 0.5 and scores["10:min_train_accuracy"] == 0.5


def test_downstream_accuracy_of_factor_codes_is_one():
  rng = np.random.RandomState(0)
  factors = np.stack([rng.randint(0, 3, 120), rng.randint(0, 4, 120)], axis=1)
  result = downstream_task.compute_downstream_task(
      factors[:80] * 1.0, factors[:80], factors[80:] * 1.0, factors[80:],
      predictor_fn=utils.gradient_boosting_classifier)
  assert result["80:min_test_accuracy"] == 1.0 and result["80:mean_train_accuracy"] == 1.0


@pytest.mark.parametrize("num_train,message", [
    (100, r"downstream_task.num_train must be a non-empty list"),
    ([], r"downstream_task.num_train must be a non-empty list"),
    ([10, 0], r"each of downstream_task.num_train must be a positive integer; got 0"),
])
def test_downstream_names_bad_sizes(data, num_train, message):
  gin.bind_parameter("predictor.predictor_fn", utils.logistic_regression_cv)
  with pytest.raises(ValueError, match=message):
    downstream_task.evaluate_downstream_task(data, small_data.linear_codes(0),
                                             np.random.RandomState(0), num_train=num_train,
                                             num_test=10)


def test_predictor_must_be_bound(data):
  with pytest.raises(RuntimeError, match="Required bindings for `predictor`.*predictor_fn"):
    downstream_task.evaluate_downstream_task(data, small_data.linear_codes(0),
                                             np.random.RandomState(0), num_train=[10],
                                             num_test=10)
  gin.bind_parameter("predictor.predictor_fn", "logistic_regression_cv")
  with pytest.raises(ValueError, match="predictor.predictor_fn must name a classifier factory"):
    downstream_task.evaluate_downstream_task(data, small_data.linear_codes(0),
                                             np.random.RandomState(0), num_train=[10],
                                             num_test=10)


_SMALL = {
    "downstream_task_logistic_regression": ["downstream_task.num_train = [15]",
                                            "downstream_task.num_test = 15"],
    "downstream_task_boosted_trees": ["downstream_task.num_train = [15]",
                                      "downstream_task.num_test = 15"],
    "fairness": ["fairness.num_train = 30", "fairness.num_test_points_per_class = 2"],
}


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_shipped_configs_run_and_repeat(data, name):
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", f"{name}.gin")],
                                      _SMALL[name])
  assert gin.query_parameter("evaluation.random_seed") == 0
  first = registry.METRICS[name](data, small_data.linear_codes(0), np.random.RandomState(0))
  assert all(0.0 <= value <= 1.0 for value in first.values())
  if gin.query_parameter("predictor.predictor_fn").selector == "gradient_boosting_classifier":
    again = registry.METRICS[name](data, small_data.linear_codes(0), np.random.RandomState(0))
    assert first == again  # the trees are seeded (gradient_boosting_classifier.random_state)


def test_shipped_configs_hold_dlib_defaults():
  for name, predictor in (("downstream_task_logistic_regression", "logistic_regression_cv"),
                          ("downstream_task_boosted_trees", "gradient_boosting_classifier")):
    gin.clear_config()
    gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", f"{name}.gin")], [])
    assert gin.query_parameter("downstream_task.num_train") == [10, 100, 1000, 10000]
    assert gin.query_parameter("downstream_task.num_test") == 5000
    assert gin.query_parameter("predictor.predictor_fn").selector == predictor
  gin.clear_config()
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", "fairness.gin")], [])
  assert gin.query_parameter("fairness.num_train") == 10000
  assert gin.query_parameter("fairness.num_test_points_per_class") == 100
  gin.clear_config()
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", "udr_sklearn.gin")], [])
  assert gin.query_parameter("udr_sklearn.batch_size") == 10
  assert gin.query_parameter("udr_sklearn.num_data_points") == 1000
  assert gin.query_parameter("udr_sklearn.correlation_matrix") == "lasso"
  assert gin.query_parameter("udr_sklearn.kl_filter_threshold") == 0.01


# --------------------------------------------------------------------------------- UDR

def test_relative_strength_by_hand():
  assert udr.relative_strength_disentanglement(np.eye(3)) == 1.0
  assert udr.relative_strength_disentanglement(np.ones((3, 3))) == pytest.approx(1 / 3)
  assert udr.relative_strength_disentanglement(np.zeros((3, 3))) == 0.0
  # Latent 0 of the first model explains two of the second's: every column has one entry
  # (ratio 1); rows score 1/2, 0 (all zeros: 0/0 counts as 0) and 1.
  matrix = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
  assert udr.relative_strength_disentanglement(matrix) == pytest.approx(
      ((1.0 + 1.0 + 1.0) / 3 + (0.5 + 0.0 + 1.0) / 3) / 2)
  # A NaN (Spearman of a constant latent) zeroes its row and column.
  with_nan = np.eye(2)
  with_nan[0, 1] = np.nan
  assert udr.relative_strength_disentanglement(with_nan) == pytest.approx(0.5)


def _models(num_points=400, seed=0):
  """Three models' means: a 4-latent code, a permuted sign-flipped copy, and noise."""
  rng = np.random.RandomState(seed)
  base = rng.randn(num_points, 4)
  permuted = -base[:, [2, 0, 3, 1]] + 0.01 * rng.randn(num_points, 4)
  return [base, permuted, rng.randn(num_points, 4)]


@pytest.mark.parametrize("correlation_matrix", ["lasso", "spearman"])
def test_udr_rewards_models_that_agree_up_to_permutation_and_sign(correlation_matrix):
  means = _models()
  result = udr.udr_from_representations(means, [np.ones(4)] * 3, random_state=0,
                                        correlation_matrix=correlation_matrix)
  pairwise = np.array(result["pairwise_disentanglement_scores"])[..., 0]
  assert pairwise.shape == (3, 3) and np.all(np.diag(pairwise) == 0.0)
  assert pairwise[0, 1] > 0.85 and pairwise[1, 0] > 0.85  # Lasso's alpha shrinks a little
  assert pairwise[0, 2] < 0.6
  scores = result["model_scores"]
  assert scores[0] == pytest.approx(np.median([pairwise[1, 0], pairwise[2, 0]]))
  assert np.array(result["raw_correlations"]).shape == (3, 3, 4, 4)


def test_udr_kl_filter_and_dlib_zeroing_rule():
  means = _models()
  kls = [np.array([1.0, 1.0, 1.0, 0.2])] * 3
  # The fourth latents (KL 0.2) stay in the correlation (zeroing is at 0.01 whatever the
  # threshold) but leave the score when the threshold is 0.5.
  kept = udr.udr_from_representations(means, kls, random_state=0)
  filtered = udr.udr_from_representations(means, kls, random_state=0, kl_filter_threshold=0.5)
  assert kept["raw_correlations"] == filtered["raw_correlations"]
  assert kept["model_scores"] != filtered["model_scores"]
  dead = [np.array([1.0, 1.0, 1.0, 0.005])] * 3  # zeroed: its raw correlations are 0
  raw = np.array(udr.udr_from_representations(means, dead, random_state=0)["raw_correlations"])
  assert np.all(raw[0, 1, 3, :] == 0.0) and np.all(raw[0, 1, :, 3] == 0.0)


def test_udr_errors_name_the_problem():
  means, kls = _models(), [np.ones(4)] * 3
  with pytest.raises(ValueError, match="udr_sklearn.correlation_matrix must be one of lasso, "
                                       "spearman; got 'pearson'"):
    udr.udr_from_representations(means, kls, random_state=0, correlation_matrix="pearson")
  with pytest.raises(ValueError, match="at least 2 models"):
    udr.udr_from_representations(means[:1], kls[:1], random_state=0)
  with pytest.raises(ValueError, match=r"model\(s\) \[1\] have no latent with mean KL above "
                                       r"udr_sklearn.kl_filter_threshold = 0.01"):
    udr.udr_from_representations(means, [np.ones(4), np.zeros(4), np.ones(4)], random_state=0)
  with pytest.raises(ValueError, match="same number of latents"):
    udr.udr_from_representations([means[0], means[1][:, :3]], [np.ones(4), np.ones(3)],
                                 random_state=0)
  with pytest.raises(ValueError, match="kl_filter_threshold must be a finite number"):
    udr.udr_from_representations(means, kls, random_state=0, kl_filter_threshold="high")


def test_udr_sampling_options_are_checked(data):
  functions = [udr.kl_representation_function(lambda x: (x[:, :4] * 1.0, x[:, :4] * 0.0))] * 2
  with pytest.raises(ValueError, match=r"udr_sklearn.num_data_points \(25\) must be a multiple of "
                                       r"udr_sklearn.batch_size \(10\)"):
    udr.compute_udr_sklearn(data, functions, np.random.RandomState(0), batch_size=10,
                            num_data_points=25)
  with pytest.raises(ValueError, match="must return \\(means"):
    udr.compute_udr_sklearn(data, [lambda x: x] * 2, np.random.RandomState(0), batch_size=10,
                            num_data_points=20)


class _Encoder:
  """A stand-in LoadedModel: float32 means and logvars of a linear map."""

  def __init__(self, seed):
    self.weights = np.random.RandomState(seed).randn(6, 3).astype(np.float32)

  def encode(self, observations, batch_size=64):
    del batch_size
    mean = np.asarray(observations, np.float32) @ self.weights
    return mean, np.full_like(mean, -2.0)


def test_udr_from_posteriors_equals_the_dataset_run(data):
  models = [_Encoder(seed) for seed in range(3)]
  functions = [representation.make_udr_representation_function(model) for model in models]
  by_dataset = udr.compute_udr_sklearn(data, functions, np.random.RandomState(0), batch_size=10,
                                       num_data_points=100, correlation_matrix="spearman")
  observations = np.concatenate([data.sample_observations(10, rng) for rng in
                                 [np.random.RandomState(0)] for _ in range(10)])
  posteriors = [model.encode(observations) for model in models]
  by_arrays = udr.udr_from_posteriors([m for m, _ in posteriors], [v for _, v in posteriors],
                                      batch_size=10, random_state=0,
                                      correlation_matrix="spearman")
  assert by_arrays == by_dataset


def test_udr_gin_config_runs_through_the_evaluation_configurable(data):
  gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", "udr_sklearn.gin")],
                                      ["udr_sklearn.num_data_points = 100"])
  functions = [representation.make_udr_representation_function(_Encoder(seed))
               for seed in range(3)]
  result = evaluate._run_evaluation_fn(data, functions)
  assert len(result["model_scores"]) == 3
  assert registry.GROUP_METRICS["udr_sklearn"] is udr.compute_udr_sklearn


def test_udr_group_of_model_directories_in_dlib_layout(tmp_path):
  import json
  import os
  from infofrag.data import named_data
  from infofrag.analysis import udr_group
  from infofrag.zoo import saved_model
  from tests.helpers import tf1_hub
  model_dirs = []
  for seed in range(3):
    weights = np.random.RandomState(seed).normal(0, 0.02, size=(64 * 64, 3)).astype(np.float32)
    bindings = {"dataset.name": "'synthetic_dsprites'", "encoder.num_latent": "3",
                "model.model": "@vae()", "model.random_seed": str(seed)}
    model_dirs.append(tf1_hub.build_tf1_hub_model(str(tmp_path / str(seed)), weights,
                                                  logvar_value=-3.0, bindings=bindings))
  bindings = ["udr_sklearn.num_data_points = 100", "udr_sklearn.correlation_matrix = 'spearman'"]
  written = udr_group.evaluate_udr_group(model_dirs, str(tmp_path / "udr"), gin_bindings=bindings)
  results_dir = tmp_path / "udr" / "results"
  with open(results_dir / "json" / "evaluation_results.json") as f:
    assert json.load(f)["model_scores"] == written["model_scores"]
  with open(results_dir / "json" / "evaluation_config.json") as f:
    config = json.load(f)
  assert config["dataset.name"] == "'synthetic_dsprites'"  # from the first model's train.gin
  assert config["udr_sklearn.correlation_matrix"] == "'spearman'"
  assert os.path.exists(results_dir / "json" / "train_config.json")  # carried along, as dlib
  functions = [representation.make_udr_representation_function(saved_model.load_model(d))
               for d in model_dirs]
  expected = udr.compute_udr_sklearn(named_data.get_named_ground_truth_data("synthetic_dsprites"),
                                     functions, np.random.RandomState(0), batch_size=10,
                                     num_data_points=100, correlation_matrix="spearman")
  assert written["model_scores"] == expected["model_scores"]
  with pytest.raises(evaluate.EvaluationError, match="at least 2 model directories"):
    udr_group.evaluate_udr_group(model_dirs[:1], str(tmp_path / "one"))


def test_headline_columns_of_the_new_metrics():
  from infofrag.analysis import options
  columns = registry.metric_columns(["downstream_task_boosted_trees", "fairness"])
  assert [column for _, _, column in columns] == ["downstream_gbt", "unfairness"]
  results = {"10:mean_test_accuracy": 0.2, "1000:mean_test_accuracy": 0.7,
             "100:mean_test_accuracy": 0.5, "1000:mean_train_accuracy": 0.9}
  assert registry.headline_value("downstream_task_boosted_trees", "mean_test_accuracy",
                                    results) == 0.7
  assert registry.headline_value("downstream_task_boosted_trees", "mean_test_accuracy",
                                    {}) is None
  options.check_size_bindings(["downstream_task.num_train = [10, 100, 1000, 10000]"])
  with pytest.raises(ValueError, match=r"downstream_task.num_train must be between 1 and"):
    options.check_size_bindings(["downstream_task.num_train = [10, 0]"])
