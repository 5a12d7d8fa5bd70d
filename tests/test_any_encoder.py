"""Any encoder: ONNX models and embedding bundles give the SavedModel's numbers, a zoo may
mix sources, and bad files are one-line errors.

The outside-framework files in tests/data/external/ were made by PyTorch itself
(`make_external_models.py`): a disent-style linear encoder exported with
`torch.onnx.export`, and a bundle of its outputs. The tests build the same function as a
dlib TF1 Hub module (`tf1_hub`), so all three sources must agree.
"""

import csv
import json
import os
import shutil

import numpy as np
import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.cli import export_embeddings as export_cli
from infofrag.cli import sample as sample_cli
from infofrag.zoo import bundle as bundle_lib
from tests.helpers import tf1_hub

EXTERNAL = os.path.join(os.path.dirname(__file__), "data", "external")
# The settings the external bundle's points were written for (make_external_models.py).
SIZES = ["mig.num_train = 200", "sap_score.num_train = 200", "sap_score.num_test = 100",
         "dci.num_train = 200", "dci.num_test = 100"]
RUN = ["--fingerprint_size=60", "--min_samples=2", "--no_progress"] + [
    f"--gin_bindings={b}" for b in SIZES]
BINDINGS = {"dataset.name": "'synthetic_dsprites'", "model.model": "@vae()",
            "model.name": "'beta_vae'", "vae.beta": "2.0", "encoder.num_latent": "3"}


def _linear_weights(seed=0):
  return np.random.RandomState(seed).normal(0, 0.02, size=(64 * 64, 3)).astype(np.float32)


def _tf1_model(path, seed=0):
  """The external encoder's function as a dlib TF1 Hub module (seed 0), or another one."""
  return tf1_hub.build_tf1_hub_model(str(path), _linear_weights(seed), logvar_value=-3.0,
                                     bindings={**BINDINGS, "model.random_seed": str(seed)})


def _onnx_model(path, **changes):
  os.makedirs(path, exist_ok=True)
  shutil.copy(os.path.join(EXTERNAL, "linear_disent.onnx"), os.path.join(path, "encoder.onnx"))
  metadata = {"format": "infofrag-encoder-v1", "dataset": "synthetic_dsprites",
              "input": {"layout": "NCHW", "range": [0, 1]},
              "outputs": {"concatenated": "z_params", "convention": "logvar"},
              "method": "beta_vae", "hyperparameters": {"beta": 2.0}, "seed": 0,
              "framework": "pytorch"}
  metadata.update(changes)
  with open(os.path.join(path, "encoder.json"), "w") as f:
    json.dump(metadata, f)
  return str(path)


def _bundle_model(path):
  os.makedirs(path, exist_ok=True)
  shutil.copy(os.path.join(EXTERNAL, "linear_bundle.npz"), os.path.join(path, "embeddings.npz"))
  return str(path)


def _table(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def _numbers(row, skip=("model", "model_dir", "source", "metrics_by")):
  """{column: float} of a table row's numeric cells (per-channel lists split)."""
  values = {}
  for column, text in row.items():
    if column in skip or text in ("", None):
      continue
    parts = text.strip("[]").replace(",", " ").replace("'", "").split()
    for i, part in enumerate(parts):
      name, _, number = part.rpartition(":")
      try:
        values[f"{column}[{i}]{name}"] = float(number)
      except ValueError:
        values[f"{column}[{i}]"] = part
  return values


def _assert_rows_agree(rows_a, rows_b, exact=False):
  assert len(rows_a) == len(rows_b)
  for a, b in zip(rows_a, rows_b):
    na, nb = _numbers(a), _numbers(b)
    assert na.keys() == nb.keys()
    for key in na:
      if isinstance(na[key], float) and not exact:
        assert na[key] == pytest.approx(nb[key], rel=1e-5, abs=1e-5, nan_ok=True), key
      else:
        assert na[key] == nb[key] or (na[key] != na[key] and nb[key] != nb[key]), key


def _analyse(zoo, out, metrics="mig,sap_score"):
  code = evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}", "--per_hyperparameter",
                            "--spaces", "--mc_samples=200", f"--metrics={metrics}"] + RUN)
  assert code == 0
  return {name: _table(os.path.join(out, f"{name}.csv"))
          for name in ("models", "groups", "spaces", "hotspots")
          if os.path.exists(os.path.join(out, f"{name}.csv"))}


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory):
  """The same encoder as a TF1 Hub module, a PyTorch ONNX export and a PyTorch bundle, each
  beside one other model (so that groups and hotspots exist), each analysed alone."""
  root = tmp_path_factory.mktemp("sources")
  tables = {}
  for source, build in (("tf1", _tf1_model), ("onnx", _onnx_model), ("bundle", _bundle_model)):
    zoo = root / source
    build(zoo / "a")
    _tf1_model(zoo / "b", seed=1)
    tables[source] = _analyse(zoo, root / f"out-{source}")
  return tables


@pytest.mark.parametrize("source", ["onnx", "bundle"])
def test_onnx_and_bundle_give_the_savedmodel_tables(three_sources, source):
  reference = three_sources["tf1"]
  tables = three_sources[source]
  assert [row["source"] for row in tables["models"]] == [source, "dlib-tf1"]
  for name in ("models", "groups", "spaces", "hotspots"):
    _assert_rows_agree(reference[name], tables[name])


@pytest.mark.parametrize("metrics", ["mig,sap_score", pytest.param("dci", marks=pytest.mark.slow)])
def test_a_bundle_exported_by_infofrag_gives_identical_metrics(tmp_path, metrics):
  # Its posteriors are the SavedModel's float32 outputs: every number is the same, and
  # MIG, SAP and DCI, served from the bundle's metric points, equal the encoder's.
  model = _tf1_model(tmp_path / "zoo" / "a")
  points = str(tmp_path / "points.npz")
  assert sample_cli.main(["--dataset=synthetic_dsprites", f"--output={points}",
                          "--fingerprint_size=60", f"--metrics={metrics}"]
                         + [f"--gin_bindings={b}" for b in SIZES]) == 0
  assert export_cli.main([f"--model_dir={model}", f"--points={points}",
                          f"--output_zoo={tmp_path / 'bundles'}"]) == 0
  shutil.copytree(tmp_path / "bundles" / "a", tmp_path / "bzoo" / "a")
  tables = [_analyse(tmp_path / zoo, tmp_path / f"out-{zoo}", metrics=metrics)
            for zoo in ("zoo", "bzoo")]
  for name in ("models", "spaces"):
    _assert_rows_agree(tables[0][name], tables[1][name], exact=True)
  columns = [c for c in tables[0]["models"][0] if c.split("_")[0] in ("mig", "sap", "dci")]
  assert columns and all(tables[0]["models"][0][c] != "" for c in columns)
  assert [tables[1]["models"][0][c] for c in columns] == [tables[0]["models"][0][c]
                                                          for c in columns]


def test_a_zoo_of_four_sources_is_one_analysis(tmp_path):
  from infofrag.training import train
  zoo = tmp_path / "zoo"
  train.train_with_gin(str(zoo / "tf2"), gin_bindings=[
      "model.model = @vae()", "vae.beta = 2.", "model.name = 'beta_vae'",
      "dataset.name = 'synthetic_dsprites'", "model.batch_size = 4", "model.training_steps = 2",
      "model.random_seed = 3", "model.eval_steps = 1", "encoder.num_latent = 3",
      "encoder.encoder_fn = @conv_encoder", "decoder.decoder_fn = @deconv_decoder",
      "reconstruction_loss.loss_fn = @bernoulli_loss",
      "vae_optimizer.optimizer_fn = @vae/AdamOptimizer"],
      options=train.LoopOptions(progress=False))
  _tf1_model(zoo / "tf1", seed=1)
  _onnx_model(zoo / "onnx")
  other = _tf1_model(tmp_path / "elsewhere" / "x", seed=2)
  points = str(tmp_path / "points.npz")
  assert sample_cli.main(["--dataset=synthetic_dsprites", f"--output={points}",
                          "--fingerprint_size=60"]) == 0
  assert export_cli.main([f"--model_dir={other}", f"--points={points}",
                          f"--output_zoo={zoo}"]) == 0
  os.rename(zoo / "x", zoo / "bundle")
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={zoo}", f"--output_dir={out}", "--fingerprint_size=60",
                            "--min_samples=2", "--metrics=none", "--no_progress"]) == 0
  sources = {row["model"]: row["source"] for row in _table(out / "models.csv")}
  assert sources == {"tf2": "infofrag-tf2", "tf1": "dlib-tf1", "onnx": "onnx",
                     "bundle": "bundle"}
  with open(out / "models.md") as f:
    assert f.readline().startswith("| model | source |")


def test_the_same_model_from_two_sources_is_counted_once(tmp_path, capsys):
  _tf1_model(tmp_path / "zoo" / "tf1")
  _onnx_model(tmp_path / "zoo" / "onnx")
  _tf1_model(tmp_path / "zoo" / "other", seed=1)
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={tmp_path / 'zoo'}", f"--output_dir={out}",
                            "--fingerprint_size=60", "--min_samples=2", "--metrics=none",
                            "--no_progress"]) == 0
  with open(out / "results.json") as f:
    [duplicate] = json.load(f)["duplicates"]
  assert duplicate["reason"] == "the same posteriors to float32 precision"


def _write_bundle(path, **changes):
  with np.load(os.path.join(EXTERNAL, "linear_bundle.npz"), allow_pickle=False) as stored:
    arrays = {name: stored[name] for name in stored.files}
  metadata = json.loads(str(arrays.pop("metadata")))
  metadata.update(changes.pop("metadata", {}))
  for name in changes.pop("drop", ()):
    metadata.pop(name, None)
  arrays.update(changes)
  os.makedirs(path, exist_ok=True)
  np.savez(os.path.join(path, "embeddings.npz"), metadata=np.array(json.dumps(metadata)),
           **arrays)
  return str(path)


@pytest.mark.parametrize("change,message", [
    ({"mean": np.zeros((5, 3), np.float32)}, r"shapes disagree: mean \(5, 3\)"),
    ({"mean": np.full((360, 3), np.nan, np.float32)}, r"'mean' holds NaN or inf in channel"),
    ({"metadata": {"convention": "precision"}}, r"unknown spread convention 'precision'"),
    ({"drop": ["seed"]}, r"the metadata lacks seed; add \"seed\""),
    ({"spread": np.zeros((360, 3), np.float32)}, r"declared as 'sigma' but holds values <= 0"),
])
def test_bad_bundles_are_one_line_errors_naming_the_file(tmp_path, change, message):
  import re
  model = _write_bundle(tmp_path / "zoo" / "bad", **change)
  _tf1_model(tmp_path / "zoo" / "good")
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={tmp_path / 'zoo'}", f"--output_dir={out}",
                            "--fingerprint_size=60", "--min_samples=2", "--metrics=none",
                            "--no_progress"]) == 1
  with open(out / "results.json") as f:
    [failure] = json.load(f)["failures"]
  assert failure["model_dir"] == model and "\n" not in failure["reason"]
  assert os.path.join(model, "embeddings.npz") in failure["reason"]
  assert re.search(message, failure["reason"]), failure["reason"]


def test_a_bundle_of_other_points_is_set_apart_with_the_fix(tmp_path):
  _bundle_model(tmp_path / "zoo" / "bundle")
  _tf1_model(tmp_path / "zoo" / "good")
  out = tmp_path / "out"
  assert evaluate_cli.main([f"--zoo={tmp_path / 'zoo'}", f"--output_dir={out}",
                            "--fingerprint_size=80", "--min_samples=2", "--metrics=none",
                            "--no_progress"]) == 1
  with open(out / "results.json") as f:
    [failure] = json.load(f)["failures"]
  assert "the bundle lacks" in failure["reason"] and "infofrag_sample" in failure["reason"]


def test_a_pickled_bundle_is_refused(tmp_path):
  path = tmp_path / "m"
  os.makedirs(path)
  np.savez(path / "embeddings.npz", mean=np.zeros((2, 1)), metadata=np.array([{"a": 1}],
                                                                              dtype=object))
  with pytest.raises(bundle_lib.BundleError, match="pickling is not allowed"):
    bundle_lib.read_metadata(str(path / "embeddings.npz"))


def test_an_onnx_encoder_of_another_image_shape_is_named(tmp_path):
  from infofrag.zoo import saved_model
  model = _onnx_model(tmp_path / "m", input={"layout": "NHWC", "range": [0, 1]})
  encoder = saved_model.load_model(model)
  with pytest.raises(saved_model.ModelLoadError,
                     match=r"encoder.onnx: the encoder takes images of shape \[1, 64, 64\] "
                           r"\(as NHWC; declared layout NHWC\) but the dataset "
                           r"'synthetic_dsprites' gives \[64, 64, 1\]"):
    encoder.check_observation_shape([64, 64, 1])


@pytest.mark.parametrize("metadata,message", [
    ({"outputs": {"mean": "nope", "spread": "z_params", "convention": "logvar"}},
     r"outputs \['nope'\] are not outputs of the ONNX model"),
    ({"input": {"layout": "CHWN"}}, r"input.layout must be \"NHWC\" or \"NCHW\""),
    ({"outputs": {"concatenated": "z_params", "convention": "std"}},
     r"unknown spread convention 'std'"),
])
def test_bad_onnx_metadata_is_a_one_line_error(tmp_path, metadata, message):
  from infofrag.zoo import saved_model
  model = _onnx_model(tmp_path / "m", **metadata)
  with pytest.raises((saved_model.ModelLoadError, ValueError), match=message):
    saved_model.load_model(model).encode(np.zeros((2, 64, 64, 1), np.float32))


def test_conventions_convert_to_log_variances():
  from infofrag.zoo import conventions
  logvar = np.array([[-3.0, 0.5]])
  spreads = {"logvar": logvar, "log_sigma": logvar / 2, "sigma": np.exp(logvar / 2),
             "variance": np.exp(logvar)}
  for name, spread in spreads.items():
    np.testing.assert_allclose(conventions.to_logvar(spread, name, where="x"), logvar,
                               rtol=1e-12)
  mean, spread = conventions.split_concatenated(np.array([[1.0, 2.0, -3.0, 0.5]]), where="x")
  np.testing.assert_array_equal(mean, [[1.0, 2.0]])
  np.testing.assert_array_equal(spread, logvar)


def test_metrics_that_draw_their_own_points_run_on_an_onnx_encoder(tmp_path):
  from infofrag.evaluation import evaluate
  sizes = {"beta_vae_sklearn": ["beta_vae_sklearn.batch_size = 8",
                                "beta_vae_sklearn.num_train = 40",
                                "beta_vae_sklearn.num_eval = 20"],
           "factor_vae_metric": ["factor_vae_score.batch_size = 8",
                                 "factor_vae_score.num_train = 40",
                                 "factor_vae_score.num_eval = 20",
                                 "factor_vae_score.num_variance_estimate = 100"]}
  models = {"tf1": _tf1_model(tmp_path / "tf1"), "onnx": _onnx_model(tmp_path / "onnx")}
  for metric, bindings in sizes.items():
    results = {source: evaluate.evaluate_model(path, metric, gin_bindings=bindings).results
               for source, path in models.items()}
    assert results["onnx"]["eval_accuracy"] == results["tf1"]["eval_accuracy"]
    assert results["onnx"]["train_accuracy"] == results["tf1"]["train_accuracy"]


def test_onnx_metadata_missing_a_field_is_named(tmp_path):
  from infofrag.zoo import model_info
  model = _onnx_model(tmp_path / "m")
  with open(os.path.join(model, "encoder.json")) as f:
    metadata = json.load(f)
  del metadata["dataset"]
  with open(os.path.join(model, "encoder.json"), "w") as f:
    json.dump(metadata, f)
  with pytest.raises(model_info.ModelDirError,
                     match=r"encoder.json: the metadata lacks dataset; add \"dataset\""):
    model_info.read_model_info(model)
