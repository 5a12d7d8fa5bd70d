"""infofrag's metrics against disentanglement_lib 1.5's own functions (the oracle).

Both sides get the same dataset object (synthetic_dsprites), the same representation
function, RandomState(0) and the same settings. Representations: a plain one (sprite
centroid, size and a mixed code) and degenerate ones built from it: a constant code, a
duplicated code, all codes identical, and a collapsed representation (every image
gets the same code). Where dlib fails, infofrag must fail too (with its own message).

The oracle is optional: without it these tests are skipped, saying how to install it
(tests/helpers/dlib_oracle.py; .ci/run installs it, so CI runs them).
"""

from __future__ import annotations

import json
import os
import warnings

import gin
import numpy as np
import pytest
from sklearn import svm
import threadpoolctl

from infofrag.data import named_data
from infofrag.evaluation import evaluate  # registers dlib's `evaluation` configurable
from infofrag.metrics import dci
from infofrag.metrics import registry
from infofrag.metrics import sap
from infofrag.metrics import udr
from infofrag.metrics import utils
from infofrag.utils import paths
from tests.helpers import dlib_oracle
from tests.helpers import small_data

del evaluate

# Tolerance for "equal": summation order differs in places (MI sums, Spearman via one
# matrix product); everything measured so far is within 5e-16.
EXACT = 1e-12


def moment_codes(images):
  """Sprite centroid x, y, sqrt(area) and x + y: [B, 4] float64."""
  images = images[..., 0].astype(np.float64)
  area = images.sum(axis=(1, 2))
  grid = np.arange(64.0)
  center_x = (images.sum(axis=1) * grid).sum(axis=1) / area
  center_y = (images.sum(axis=2) * grid).sum(axis=1) / area
  return np.stack([center_x, center_y, np.sqrt(area), center_x + center_y], axis=1)


def degenerate_variants(codes):
  """The plain representation `codes` and degenerate ones made from it: {name: function}."""
  return {
      "plain": codes,
      # 0.1 is not exact in binary: the code's mean differs from it by ~1e-17, so dlib's
      # standardisation gives a constant +-1 code rather than 0/0.
      "constant_code": lambda x: np.concatenate([codes(x), np.full((len(x), 1), 0.1)], axis=1),
      "zero_code": lambda x: np.concatenate([codes(x), np.zeros((len(x), 1))], axis=1),
      "duplicated_code": lambda x: np.concatenate([codes(x), codes(x)[:, :1]], axis=1),
      "identical_codes": lambda x: np.repeat(codes(x)[:, :1], 4, axis=1),
      "collapsed": lambda x: np.zeros((len(x), 4)),
  }


REPRESENTATIONS = degenerate_variants(moment_codes)


def _histogram_bindings(oracle):
  return {"discretizer.discretizer_fn": oracle.utils._histogram_discretize,
          "discretizer.num_bins": 20}


# name -> (infofrag gin bindings, dlib function name, dlib keyword arguments); sizes small
# enough for the default suite, but large enough that every factor value appears.
SMALL = {
    "mig": (["mig.num_train = 400"], "mig.compute_mig", {"num_train": 400}),
    "modularity_explicitness": (
        ["modularity_explicitness.num_train = 500", "modularity_explicitness.num_test = 500"],
        "modularity_explicitness.compute_modularity_explicitness",
        {"num_train": 500, "num_test": 500}),
    "irs": (["irs.num_train = 400"], "irs.compute_irs", {"num_train": 400, "batch_size": 16}),
    "unsupervised": (["unsupervised_metrics.num_train = 400"],
                     "unsupervised_metrics.unsupervised_metrics", {"num_train": 400}),
    "beta_vae_sklearn": (["beta_vae_sklearn.num_train = 60", "beta_vae_sklearn.num_eval = 30",
                          "beta_vae_sklearn.batch_size = 8"],
                         "beta_vae.compute_beta_vae_sklearn",
                         {"num_train": 60, "num_eval": 30, "batch_size": 8}),
    "factor_vae_metric": (["factor_vae_score.num_variance_estimate = 300",
                           "factor_vae_score.num_train = 60", "factor_vae_score.num_eval = 30",
                           "factor_vae_score.batch_size = 16"],
                          "factor_vae.compute_factor_vae",
                          {"num_variance_estimate": 300, "num_train": 60, "num_eval": 30,
                           "batch_size": 16}),
}


@pytest.fixture(scope="module")
def oracle():
  return dlib_oracle.require()


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
  """The classifiers here are tiny: BLAS threads only wait for each other (5-10x slower on a
  loaded machine). Both sides run under the same limit."""
  with threadpoolctl.threadpool_limits(1):
    yield


@pytest.fixture(scope="module")
def data():
  return named_data.get_named_ground_truth_data("synthetic_dsprites")


@pytest.fixture(autouse=True)
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _attempt(function):
  """function()'s result, or the exception it raised (dlib and infofrag must agree on
  whether a degenerate representation is an error)."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      return function()
  except (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError) as error:
    return error


def _dlib_function(oracle, dotted):
  module, name = dotted.split(".")
  return getattr(getattr(oracle, module), name)


def run_both(oracle, data, metric, representation, bindings, dlib_name, dlib_kwargs,
             dlib_bindings=None):
  """(infofrag's result, dlib's result) of one metric, each a dict or an exception."""
  def ours():
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [paths.gin_config_path("evaluate", f"{metric}.gin")], bindings)
    return registry.METRICS[metric](data, representation, np.random.RandomState(0))

  def theirs():
    oracle_bindings = {**_histogram_bindings(oracle), "prune_dims.threshold": 0.05,
                       **(dlib_bindings or {})}
    with dlib_oracle.bindings(oracle_bindings):
      return _dlib_function(oracle, dlib_name)(data, representation, np.random.RandomState(0),
                                               **dlib_kwargs)
  return _attempt(ours), _attempt(theirs)


def max_difference(ours, theirs):
  """Largest |difference| over dlib's keys (NaN equal to NaN); the keys must match, apart
  from infofrag's additions."""
  missing = set(theirs) - set(ours)
  assert not missing, f"infofrag lacks dlib's keys {sorted(missing)}"
  worst = 0.0
  for key, value in theirs.items():
    # dlib's Wasserstein score can be complex with a ~1e-10j part; infofrag reports its real part.
    a, b = np.asarray(ours[key], dtype=np.float64), np.real(np.asarray(value, np.complex128))
    assert a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)), (key, ours[key], value)
    same = (a == b) | (np.isnan(a) & np.isnan(b))  # equal infinities and NaNs count as equal
    if not np.all(same):
      worst = max(worst, float(np.max(np.abs(a - b)[~same])))
  return worst


def assert_same_outcome(ours, theirs, tolerance=EXACT):
  if isinstance(theirs, Exception):
    assert isinstance(ours, Exception), f"dlib fails ({theirs!r}) but infofrag gives {ours}"
    return 0.0
  assert not isinstance(ours, Exception), f"infofrag fails ({ours!r}) where dlib gives {theirs}"
  difference = max_difference(ours, theirs)
  assert difference <= tolerance, (difference, ours, theirs)
  return difference


# dlib divides an exactly constant code by its zero standard deviation and hands NaN to
# LogisticRegression, which raises; infofrag only centres such a code (utils.normalize_data).
DLIB_FAILS_INFOFRAG_SCORES = {("modularity_explicitness", "zero_code"),
                              ("modularity_explicitness", "collapsed")}


@pytest.mark.parametrize("representation", sorted(REPRESENTATIONS))
@pytest.mark.parametrize("metric", sorted(SMALL))
def test_metric_equals_dlib(oracle, data, metric, representation):
  bindings, dlib_name, dlib_kwargs = SMALL[metric]
  ours, theirs = run_both(oracle, data, metric, REPRESENTATIONS[representation], bindings,
                          dlib_name, dlib_kwargs)
  if (metric, representation) in DLIB_FAILS_INFOFRAG_SCORES:
    assert isinstance(theirs, ValueError) and "NaN" in str(theirs)
    assert not isinstance(ours, Exception) and all(np.isfinite(list(ours.values())))
  else:
    assert_same_outcome(ours, theirs)


# ------------------------------------------------------------------ SAP and DCI (array level)
# Both fit classifiers whose seeds dlib leaves to numpy's global state. SAP: infofrag draws
# them in dlib's order from the global state when random_state=None, so both run after the
# same np.random.seed. DCI: infofrag seeds factor j's trees with utils.split_seeds(0, F)[j];
# the oracle's trees get the same seeds (they only break exact ties between codes). The
# codes are sampled once (the samplers are compared above). The default suite uses the
# small dataset (3, 4, 5 factor values); dsprites' 40 orientations make the trees slow.

SMALL_REPRESENTATIONS = degenerate_variants(small_data.linear_codes(1))


def _cases(fast=tuple(REPRESENTATIONS)):
  """(dataset, representation) pairs: the `fast` representations on the small dataset in
  the default suite, every other pair marked slow."""
  cases = []
  for dataset in ("small", "synthetic_dsprites"):
    for name in sorted(REPRESENTATIONS):
      marks = () if dataset == "small" and name in fast else (pytest.mark.slow,)
      cases.append(pytest.param(dataset, name, marks=marks, id=f"{dataset}-{name}"))
  return cases


def _representation(dataset, name):
  return (SMALL_REPRESENTATIONS if dataset == "small" else REPRESENTATIONS)[name]


@pytest.fixture(scope="module")
def datasets(data):
  return {"small": small_data.SmallFactors(), "synthetic_dsprites": data}


def _sampled(data, representation, num_train, num_test):
  random_state = np.random.RandomState(0)
  return (utils.generate_batch_factor_code(data, representation, num_train, random_state, 16)
          + utils.generate_batch_factor_code(data, representation, num_test, random_state, 16))


class _Namespace:
  def __init__(self, **attributes):
    self.__dict__.update(attributes)


@pytest.fixture
def oracle_sap_before_sklearn_1_5(oracle, monkeypatch):
  """dlib's SAP as it ran: scikit-learn < 1.5, where LinearSVC's default dual was True
  (infofrag pins dual=True; with today's "auto" dlib would get other numbers)."""
  monkeypatch.setattr(oracle.sap_score, "svm", _Namespace(
      LinearSVC=lambda **kwargs: svm.LinearSVC(dual=True, **kwargs)))
  return oracle


@pytest.mark.parametrize("dataset,representation", _cases())
def test_sap_equals_dlib(oracle_sap_before_sklearn_1_5, datasets, dataset, representation):
  mus, ys, mus_test, ys_test = _sampled(datasets[dataset], _representation(dataset, representation),
                                        300, 150)

  def ours():
    np.random.seed(11)
    return sap.compute_sap(mus, ys, mus_test, ys_test, random_state=None)

  def theirs():
    np.random.seed(11)
    return oracle_sap_before_sklearn_1_5.sap_score._compute_sap(
        mus.T, ys.T, mus_test.T, ys_test.T, False)
  assert_same_outcome(_attempt(ours), _attempt(theirs))


@pytest.mark.parametrize("dataset,representation", _cases(fast=("duplicated_code",)))
def test_dci_equals_dlib(oracle, datasets, dataset, representation, monkeypatch):
  mus, ys, mus_test, ys_test = _sampled(datasets[dataset], _representation(dataset, representation),
                                        *((60, 30) if dataset == "small" else (100, 50)))
  seeds = iter(utils.split_seeds(0, ys.shape[1]))
  gradient_boosting = oracle.dci.ensemble.GradientBoostingClassifier
  monkeypatch.setattr(oracle.dci, "ensemble", _Namespace(
      GradientBoostingClassifier=lambda: gradient_boosting(random_state=int(next(seeds)))))
  ours = _attempt(lambda: dci.compute_dci(mus, ys, mus_test, ys_test, random_state=0))
  theirs = _attempt(lambda: oracle.dci._compute_dci(mus.T, ys.T, mus_test.T, ys_test.T))
  assert_same_outcome(ours, theirs)


# ---------------------------------------- downstream_task and fairness (dataset level)
# The same sampling, classifiers and keys as dlib's functions. dlib's trees are unseeded
# (numpy's global state); here infofrag's are too (gradient_boosting_classifier.random_state
# = None) and both sides start from the same np.random.seed, so even ties break alike.

_PREDICTORS = {"logistic_regression": "logistic_regression_cv",
               "boosted_trees": "gradient_boosting_classifier"}
_DOWNSTREAM_SIZES = {"small": ([10, 40], 30), "synthetic_dsprites": ([10, 100], 50)}
# In the default suite, the representations where dlib's handling could differ: tied
# duplicates (trees), an exactly constant code (logistic regression), nothing to learn
# (both); the rest run with -m slow.
_FAST_CASES = {"boosted_trees": ("duplicated_code",), "logistic_regression": ("zero_code",)}
_FAIRNESS_SIZES = {"small": (100, 5), "synthetic_dsprites": (100, 3)}


def _infofrag_predictor_bindings(predictor):
  return [f"predictor.predictor_fn = @{_PREDICTORS[predictor]}",
          "gradient_boosting_classifier.random_state = None"]


def _seeded(function):
  def run():
    np.random.seed(5)
    return function()
  return run


@pytest.mark.parametrize("dataset,representation,predictor", [
    pytest.param(*case.values, predictor, marks=case.marks, id=f"{case.id}-{predictor}")
    for predictor in sorted(_PREDICTORS) for case in _cases(fast=_FAST_CASES[predictor])])
def test_downstream_task_equals_dlib(oracle, datasets, dataset, representation, predictor):
  data, function = datasets[dataset], _representation(dataset, representation)
  num_train, num_test = _DOWNSTREAM_SIZES[dataset]
  metric = f"downstream_task_{predictor}"
  bindings = [f"downstream_task.num_train = {num_train}", f"downstream_task.num_test = {num_test}"]

  def ours():
    gin.parse_config_files_and_bindings([paths.gin_config_path("evaluate", f"{metric}.gin")],
                                        bindings + _infofrag_predictor_bindings(predictor))
    return registry.METRICS[metric](data, function, np.random.RandomState(0))

  def theirs():
    with dlib_oracle.bindings({"predictor.predictor_fn":
                               getattr(oracle.utils, _PREDICTORS[predictor])}):
      return oracle.downstream_task.compute_downstream_task(
          data, function, np.random.RandomState(0), num_train=num_train, num_test=num_test)
  ours, theirs = _attempt(_seeded(ours)), _attempt(_seeded(theirs))
  assert_same_outcome(ours, theirs)
  if isinstance(theirs, dict):
    assert list(ours) == list(theirs)  # dlib's keys, in dlib's order


@pytest.mark.parametrize("dataset,representation", _cases(fast=("duplicated_code", "collapsed")))
def test_fairness_equals_dlib(oracle, datasets, dataset, representation):
  data, function = datasets[dataset], _representation(dataset, representation)
  num_train, per_class = _FAIRNESS_SIZES[dataset]

  def ours():
    gin.parse_config_files_and_bindings(
        [paths.gin_config_path("evaluate", "fairness.gin")],
        [f"fairness.num_train = {num_train}", f"fairness.num_test_points_per_class = {per_class}",
         "gradient_boosting_classifier.random_state = None"])
    return registry.METRICS["fairness"](data, function, np.random.RandomState(0))

  def theirs():
    with dlib_oracle.bindings({"predictor.predictor_fn":
                               oracle.utils.gradient_boosting_classifier}):
      return oracle.fairness.compute_fairness(data, function, np.random.RandomState(0),
                                              num_train=num_train,
                                              num_test_points_per_class=per_class)
  ours, theirs = _attempt(_seeded(ours)), _attempt(_seeded(theirs))
  assert_same_outcome(ours, theirs)
  if isinstance(theirs, dict):
    assert list(ours) == list(theirs)


@pytest.mark.slow
def test_fairness_with_logistic_regression_equals_dlib(oracle, datasets):
  data, function = datasets["small"], SMALL_REPRESENTATIONS["plain"]

  def ours():
    gin.parse_config_files_and_bindings(
        [paths.gin_config_path("evaluate", "fairness.gin")],
        ["fairness.num_train = 100", "fairness.num_test_points_per_class = 5",
         "predictor.predictor_fn = @logistic_regression_cv"])
    return registry.METRICS["fairness"](data, function, np.random.RandomState(0))

  with dlib_oracle.bindings({"predictor.predictor_fn": oracle.utils.logistic_regression_cv}):
    theirs = oracle.fairness.compute_fairness(data, function, np.random.RandomState(0),
                                              num_train=100, num_test_points_per_class=5)
  assert_same_outcome(ours(), theirs)


# ------------------------------------------------------------------------------------ UDR
# A group of models: encoders mean = linear map of the observation (per model), logvar
# constant per latent. Degenerate groups: one model with a dead latent (mean 0, logvar 0:
# KL 0), a duplicated latent, all latents identical, and one fully collapsed model.

def _encoder(codes, num_latents, seed, dead=(), copies=None):
  logvars = -1.0 - 0.2 * np.arange(num_latents)

  def encode(observations):
    mean = codes(observations)[:, :num_latents] @ np.random.RandomState(seed).randn(
        num_latents, num_latents)
    if copies is not None:
      mean = mean[:, copies]
    mean[:, list(dead)] = 0.0
    logvar = np.tile(logvars, (len(mean), 1))
    logvar[:, list(dead)] = 0.0
    return mean, logvar
  return encode


def udr_groups(codes, num_latents=4):
  """{name: list of UDR representation functions}."""
  def group(*special):
    encoders = [_encoder(codes, num_latents, seed) for seed in range(3)] + list(special)
    return [udr.kl_representation_function(encoder) for encoder in encoders]
  return {
      "plain": group(_encoder(codes, num_latents, 3)),
      "dead_latent": group(_encoder(codes, num_latents, 3, dead=(1,))),
      "duplicated_latent": group(_encoder(codes, num_latents, 3, copies=[0, 1, 2, 0])),
      "identical_latents": group(_encoder(codes, num_latents, 3, copies=[0] * num_latents)),
      "collapsed_model": group(_encoder(codes, num_latents, 3, dead=range(num_latents))),
  }


UDR_OPTIONS = {
    "default": {},
    "threshold_0.5": {"kl_filter_threshold": 0.5},  # zeroing stays at 0.01 (dlib)
    "no_filter": {"filter_low_kl": False},
}


def _udr_pair(oracle, data, functions, correlation_matrix, options, num_data_points=200):
  kwargs = dict(batch_size=10, num_data_points=num_data_points,
                correlation_matrix=correlation_matrix, **options)
  ours = _attempt(lambda: udr.compute_udr_sklearn(data, functions, np.random.RandomState(0),
                                                  **kwargs))
  theirs = _attempt(lambda: oracle.udr.compute_udr_sklearn(data, functions,
                                                          np.random.RandomState(0), **kwargs))
  return ours, theirs


@pytest.fixture(scope="module")
def udr_oracle():
  return dlib_oracle.require(udr=True)


def _udr_cases():
  """Every group with dlib's options in the default suite; the other options there only for
  the groups they change (a dead latent, a collapsed model), the rest marked slow."""
  cases = []
  for group in sorted(udr_groups(moment_codes)):
    for correlation_matrix in ("lasso", "spearman"):
      for options in sorted(UDR_OPTIONS):
        fast = options == "default" or group in ("dead_latent", "collapsed_model")
        cases.append(pytest.param(group, correlation_matrix, options,
                                  marks=() if fast else (pytest.mark.slow,),
                                  id=f"{group}-{correlation_matrix}-{options}"))
  return cases


# Needs dlib's UDR file, which its wheel lacks (dlib_oracle install-udr); the default
# suite checks the same cases against dlib's recorded outputs below.
@pytest.mark.slow
@pytest.mark.parametrize("group,correlation_matrix,options", _udr_cases())
def test_udr_equals_dlib(udr_oracle, datasets, group, correlation_matrix, options):
  functions = udr_groups(small_data.linear_codes(2, num_codes=6))[group]
  ours, theirs = _udr_pair(udr_oracle, datasets["small"], functions, correlation_matrix,
                           UDR_OPTIONS[options])
  assert_same_outcome(ours, theirs, tolerance=1e-15 if correlation_matrix == "spearman" else 0.0)
  if isinstance(theirs, dict):
    assert list(ours) == list(theirs) == ["raw_correlations", "pairwise_disentanglement_scores",
                                          "model_scores"]
  elif group == "collapsed_model":
    assert "no latent with mean KL above" in str(ours)


# Needs dlib's UDR file, which its wheel lacks (dlib_oracle install-udr); the default
# suite checks the same cases against dlib's recorded outputs below.
@pytest.mark.slow
@pytest.mark.parametrize("correlation_matrix", ["lasso", "spearman"])
def test_udr_on_dsprites_equals_dlib(udr_oracle, data, correlation_matrix):
  functions = udr_groups(moment_codes)["plain"]
  ours, theirs = _udr_pair(udr_oracle, data, functions, correlation_matrix,
                           {"include_raw_correlations": False}, num_data_points=300)
  assert "raw_correlations" not in ours
  assert_same_outcome(ours, theirs, tolerance=1e-15)


# Needs dlib's UDR file, which its wheel lacks (dlib_oracle install-udr); the default
# suite checks the same cases against dlib's recorded outputs below.
@pytest.mark.slow
def test_udr_from_posteriors_equals_dlib(udr_oracle, datasets):
  """The precomputed-array entry point: means and logvars on shared points."""
  encoders = [_encoder(small_data.linear_codes(2, num_codes=6), 4, seed) for seed in range(3)]
  observations = datasets["small"].sample_observations(200, np.random.RandomState(0))
  posteriors = [encoder(observations) for encoder in encoders]
  ours = udr.udr_from_posteriors([m for m, _ in posteriors], [v for _, v in posteriors],
                                 batch_size=10, random_state=0, correlation_matrix="spearman")

  positions = [iter(range(0, 200, 10)) for _ in encoders]

  def replay(index):
    def function(unused_observations):  # hands out the stored arrays batch by batch
      start = next(positions[index])
      mean, logvar = posteriors[index]
      return (mean[start:start + 10],
              udr.gaussian_kl_per_latent(mean[start:start + 10], logvar[start:start + 10]))
    return function

  theirs = udr_oracle.udr.compute_udr_sklearn(
      datasets["small"], [replay(i) for i in range(3)], np.random.RandomState(0), 10, 200,
      correlation_matrix="spearman")
  assert_same_outcome(ours, theirs, tolerance=1e-15)


def _recorded_udr():
  path = os.path.join(os.path.dirname(__file__), "data", "dlib_udr_outputs.json")
  with open(path) as f:
    return json.load(f)


@pytest.mark.parametrize("case", sorted(_recorded_udr()))
def test_udr_equals_dlibs_recorded_outputs(datasets, case):
  """dlib's own UDR outputs, recorded by tests/data/record_dlib_udr.py (dlib's wheel lacks
  UDR and CI cannot fetch it): the parity holds without the oracle installed."""
  group, correlation_matrix, options = case.split("-")
  functions = udr_groups(small_data.linear_codes(2, num_codes=6))[group]
  ours = _attempt(lambda: udr.compute_udr_sklearn(
      datasets["small"], functions, np.random.RandomState(0), batch_size=10,
      num_data_points=200, correlation_matrix=correlation_matrix, **UDR_OPTIONS[options]))
  theirs = _recorded_udr()[case]
  if "error" in theirs:
    assert isinstance(ours, Exception), (theirs, ours)
    return
  assert not isinstance(ours, Exception), ours
  assert list(ours) == list(theirs)
  for key, value in theirs.items():
    np.testing.assert_allclose(np.asarray(ours[key], dtype=np.float64),
                               np.asarray(value, dtype=np.float64), rtol=0, atol=1e-15,
                               err_msg=f"{case}: {key}")
