"""Training end to end on tiny configs: every method, dlib result files, determinism,
resume after an interruption, and errors that leave nothing behind."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from infofrag.training import data_stream
from infofrag.training import train
from infofrag.utils import results as results_lib

QUIET = train.LoopOptions(progress=False, checkpoint_every=2)
# One step per compiled call, where a test interrupts the loop at a given batch.
STEPWISE = train.LoopOptions(progress=False, checkpoint_every=2, steps_per_call=1)

CIRCLE_BASE = [
    "dataset.name = 'circle'",
    "model.batch_size = 32",
    "model.training_steps = 6",
    "model.random_seed = 3",
    "model.eval_steps = 2",
    "encoder.num_latent = 2",
    "encoder.encoder_fn = @mlp_encoder",
    "decoder.decoder_fn = @mlp_decoder",
    "mlp_encoder.hidden_units = (16, 16)",
    "mlp_decoder.hidden_units = (16,)",
    "reconstruction_loss.loss_fn = @l2_loss",
    "reconstruction_loss.activation = 'linear'",
    "vae_optimizer.optimizer_fn = @vae/AdamOptimizer",
    "vae/AdamOptimizer.learning_rate = 0.001",
    "discriminator_optimizer.optimizer_fn = @discriminator/AdamOptimizer",
    "discriminator/AdamOptimizer.beta1 = 0.5",
    "discriminator/AdamOptimizer.beta2 = 0.9",
]

METHOD_BINDINGS = {
    "beta_vae": ["model.model = @vae()", "vae.beta = 4."],
    "annealed_vae": ["model.model = @annealed_vae()", "annealed_vae.c_max = 5.",
                     "annealed_vae.gamma = 1000", "annealed_vae.iteration_threshold = 4"],
    "factor_vae": ["model.model = @factor_vae()", "factor_vae.gamma = 10.",
                   "discriminator.discriminator_fn = @fc_discriminator"],
    "dip_vae_i": ["model.model = @dip_vae()", "dip_vae.lambda_od = 2.",
                  "dip_vae.lambda_d_factor = 10.", "dip_vae.dip_type = 'i'"],
    "dip_vae_ii": ["model.model = @dip_vae()", "dip_vae.lambda_od = 2.",
                   "dip_vae.lambda_d_factor = 1.", "dip_vae.dip_type = 'ii'"],
    "beta_tc_vae": ["model.model = @beta_tc_vae()", "beta_tc_vae.beta = 6."],
}


def _train(model_dir, extra=(), method="beta_vae", **kwargs):
  bindings = CIRCLE_BASE + METHOD_BINDINGS[method] + list(extra)
  return train.train_with_gin(str(model_dir), gin_bindings=bindings,
                              options=kwargs.pop("options", QUIET), **kwargs)


def _checkpoint_arrays(model_dir):
  prefix = tf.train.latest_checkpoint(os.path.join(model_dir, "model", "tf_checkpoint"))
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
          if "_CHECKPOINTABLE_OBJECT_GRAPH" not in name and not name.startswith(("elapsed", "save_counter"))}


@pytest.mark.parametrize("method", sorted(METHOD_BINDINGS))
def test_every_method_trains_and_writes_dlib_results(tmp_path, method):
  model_dir = tmp_path / method
  results = _train(model_dir, method=method)
  folder = model_dir / "model" / "results"
  with open(folder / "json" / "train_results.json") as f:
    written = json.load(f)
  assert written == results
  expected = {"kl_loss", "loss", "reconstruction_loss", "regularizer", "global_step",
              "elapsed_time", "uuid"}
  if method != "factor_vae":
    expected.add("elbo")  # dlib's FactorVAE does not report the ELBO
    assert written["elbo"] == pytest.approx(-(written["reconstruction_loss"] + written["kl_loss"]),
                                            rel=1e-5)
  assert set(written) == expected
  assert written["global_step"] == 6
  assert written["loss"] == pytest.approx(written["reconstruction_loss"] + written["regularizer"],
                                          rel=1e-5)
  assert all(np.isfinite(written[k]) for k in expected - {"uuid", "global_step"})
  gin_text = (folder / "gin" / "train.gin").read_text()
  with open(folder / "json" / "train_config.json") as f:
    config = json.load(f)
  assert config == results_lib.gin_dict(gin_text)
  assert config["model.training_steps"] == "6" and config["dataset.name"] == "'circle'"
  with open(folder / "aggregate" / "train.json") as f:
    aggregate = json.load(f)
  assert aggregate == {**{f"train_config.{k}": v for k, v in config.items()},
                       **{f"train_results.{k}": v for k, v in written.items()}}
  assert (model_dir / "model" / "tfhub" / "saved_model.pb").exists()
  assert list((model_dir / "model" / "logs").iterdir())  # TensorBoard event file
  assert not os.path.exists(train.partial_dir(str(model_dir)))


def test_same_seed_gives_bit_identical_weights(tmp_path):
  _train(tmp_path / "a", method="beta_tc_vae")
  first = _checkpoint_arrays(str(tmp_path / "a"))
  _train(tmp_path / "b", method="beta_tc_vae")
  second = _checkpoint_arrays(str(tmp_path / "b"))
  assert first.keys() == second.keys() and len(first) > 10
  for name in first:
    np.testing.assert_array_equal(first[name], second[name], err_msg=name)
  _train(tmp_path / "c", method="beta_tc_vae", extra=["model.random_seed = 4"])
  third = _checkpoint_arrays(str(tmp_path / "c"))
  kernels = [n for n in first if n.startswith("model/vae_variables/")]
  assert kernels and not np.array_equal(first[kernels[0]], third[kernels[0]])


def test_conv_model_on_synthetic_dsprites_is_deterministic(tmp_path):
  bindings = ["dataset.name = 'synthetic_dsprites'", "encoder.encoder_fn = @conv_encoder",
              "decoder.decoder_fn = @deconv_decoder", "reconstruction_loss.loss_fn = @bernoulli_loss",
              "reconstruction_loss.activation = 'logits'", "model.batch_size = 4",
              "model.training_steps = 2", "model.eval_steps = 1"]
  for name in ("a", "b"):
    _train(tmp_path / name, extra=bindings)
  first, second = _checkpoint_arrays(str(tmp_path / "a")), _checkpoint_arrays(str(tmp_path / "b"))
  for name in first:
    np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_steps_per_call_does_not_change_the_weights_or_the_summaries(tmp_path):
  # 11 steps in calls of 1, and of 4 cut at the checkpoints every 5 steps (4, 1, 4, 1, 1).
  extra = ["model.training_steps = 11"]
  arrays, losses = [], []
  for per_call in (1, 4):
    options = train.LoopOptions(progress=False, checkpoint_every=5, summary_every=1,
                                steps_per_call=per_call)
    model_dir = tmp_path / f"k{per_call}"
    _train(model_dir, extra=extra, method="factor_vae", options=options)
    arrays.append(_checkpoint_arrays(str(model_dir)))
    losses.append(_summaries(model_dir / "model" / "logs", "loss"))
  for other in arrays[1:]:
    assert other.keys() == arrays[0].keys()
    for name in arrays[0]:
      np.testing.assert_array_equal(arrays[0][name], other[name], err_msg=name)
  assert [step for step, _ in losses[0]] == list(range(1, 12))
  assert losses[1] == losses[0]


def _summaries(log_dir, tag):
  """[(step, value)] of one scalar in a run's TensorBoard logs, by step."""
  found = []
  for event_file in log_dir.iterdir():
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      for value in event.summary.value:
        if value.tag == tag:
          found.append((event.step, float(tf.make_ndarray(value.tensor))))
  return sorted(found)


@pytest.mark.parametrize("options, interrupted_at, checkpoint", [
    # Ctrl-C while waiting for the 6th batch, one step per call: the checkpoint of step 5.
    (STEPWISE, 6, 5),
    # Ctrl-C while gathering the second call's batches (3 per call): the first call's.
    (train.LoopOptions(progress=False, checkpoint_every=100, steps_per_call=3), 5, 3)])
def test_resume_after_interrupt_gives_the_uninterrupted_weights(tmp_path, monkeypatch, options,
                                                                interrupted_at, checkpoint):
  extra = ["model.training_steps = 9"]
  _train(tmp_path / "clean", extra=extra)
  calls = {"n": 0}
  original_next = data_stream.BatchStream.next

  def interrupting_next(self):
    calls["n"] += 1
    if calls["n"] == interrupted_at:
      raise KeyboardInterrupt
    return original_next(self)

  monkeypatch.setattr(data_stream.BatchStream, "next", interrupting_next)
  resumed_dir = tmp_path / "resumed"
  with pytest.raises(KeyboardInterrupt):
    _train(resumed_dir, extra=extra, options=options)
  assert not resumed_dir.exists()  # an unfinished run never looks finished
  partial = train.partial_dir(str(resumed_dir))
  latest = tf.train.latest_checkpoint(os.path.join(partial, "model", "tf_checkpoint"))
  assert latest.endswith(f"-{checkpoint}")
  monkeypatch.setattr(data_stream.BatchStream, "next", original_next)
  results = _train(resumed_dir, extra=extra, resume=True, options=options)
  assert results["global_step"] == 9
  clean, resumed = _checkpoint_arrays(str(tmp_path / "clean")), _checkpoint_arrays(str(resumed_dir))
  assert clean.keys() == resumed.keys()
  for name in clean:
    np.testing.assert_array_equal(clean[name], resumed[name], err_msg=name)
  assert sorted(os.listdir(resumed_dir / "model")) == sorted(os.listdir(tmp_path / "clean" / "model"))


def test_checkpoints_are_also_taken_by_time(tmp_path, monkeypatch):
  # Steps between checkpoints never reached; a zero-second interval saves every step.
  options = train.LoopOptions(progress=False, checkpoint_every=10**9, checkpoint_seconds=0.0,
                              steps_per_call=1)
  original_next = data_stream.BatchStream.next
  calls = {"n": 0}

  def interrupting_next(self):
    calls["n"] += 1
    if calls["n"] == 4:
      raise KeyboardInterrupt
    return original_next(self)

  monkeypatch.setattr(data_stream.BatchStream, "next", interrupting_next)
  saved = []  # the step of every checkpoint
  original_save = train._Trainer._save
  monkeypatch.setattr(train._Trainer, "_save",
                      lambda self, state: saved.append(int(self.global_step.numpy()))
                      or original_save(self, state))
  with pytest.raises(KeyboardInterrupt):
    _train(tmp_path / "m", options=options)
  assert saved[:3] == [1, 2, 3]


def test_existing_model_dir_needs_overwrite(tmp_path):
  model_dir = tmp_path / "m"
  first = _train(model_dir)
  with pytest.raises(train.TrainingError, match="already exists; pass --overwrite"):
    _train(model_dir)
  with pytest.raises(train.TrainingError, match="already complete; nothing to resume"):
    _train(model_dir, resume=True)
  second = _train(model_dir, overwrite=True)
  assert second["uuid"] != first["uuid"]
  assert sorted(os.listdir(tmp_path)) == ["m"]


@pytest.mark.parametrize("binding, message", [
    ("encoder.num_latent = 0", "encoder.num_latent must be a positive integer"),
    ("encoder.encoder_fn = @conv_encoder", "conv_encoder needs images"),
    ("model.batch_size = 0", "model.batch_size must be a positive integer"),
    ("model.random_seed = -1", r"model.random_seed must be an integer in \[0, 2\*\*32\)"),
    ("reconstruction_loss.activation = 'softmax'", "reconstruction_loss.activation='softmax'"),
])
def test_bad_configs_fail_before_writing_anything(tmp_path, binding, message):
  with pytest.raises(ValueError, match=message):
    _train(tmp_path / "m", extra=[binding])
  assert os.listdir(tmp_path) == []


def test_missing_dataset_files_fail_before_writing(tmp_path, monkeypatch):
  from infofrag.data import named_data
  from infofrag.data.ground_truth import paths

  def missing(name=None):
    raise paths.DatasetFileNotFoundError(
        "dsprites_full: file dsprites/dsprites.npz not found in /data; download it first")

  monkeypatch.setattr(named_data, "get_named_ground_truth_data", missing)
  with pytest.raises(paths.DatasetFileNotFoundError, match="dsprites.npz"):
    _train(tmp_path / "m")
  assert os.listdir(tmp_path) == []


def test_tensorboard_summaries_hold_the_loss_terms(tmp_path):
  options = train.LoopOptions(progress=False, summary_every=2, log_every=2)
  _train(tmp_path / "m", options=options)
  log_dir = tmp_path / "m" / "model" / "logs"
  steps_by_tag = {}
  for event_file in log_dir.iterdir():
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      for value in event.summary.value:
        steps_by_tag.setdefault(value.tag, []).append(event.step)
        assert value.metadata.plugin_data.plugin_name == "scalars"
        assert np.isfinite(tf.make_ndarray(value.tensor))
  assert {"loss", "reconstruction_loss", "kl_loss", "regularizer"} <= set(steps_by_tag)
  assert sorted(steps_by_tag["loss"]) == [2, 4, 6]


def test_resume_after_a_crash_during_export(tmp_path, monkeypatch):
  from infofrag.export import saved_model as export_lib
  original = export_lib.export_as_tf_hub

  def crashing_export(model, export_path, info, **kwargs):
    os.makedirs(os.path.join(export_path, "variables"))  # half-written export
    raise RuntimeError("disk full")

  monkeypatch.setattr(export_lib, "export_as_tf_hub", crashing_export)
  with pytest.raises(RuntimeError, match="disk full"):
    _train(tmp_path / "m")
  assert not (tmp_path / "m").exists()
  monkeypatch.setattr(export_lib, "export_as_tf_hub", original)
  results = _train(tmp_path / "m", resume=True)
  assert results["global_step"] == 6
  loaded = tf.saved_model.load(str(tmp_path / "m" / "model" / "tfhub"))
  assert loaded.signatures["gaussian_encoder"](images=tf.zeros([3, 2]))["mean"].shape == (3, 2)


def test_progress_bar_shows_steps_loss_terms_and_rate(tmp_path, capsys):
  options = train.LoopOptions(progress=True, log_every=2)
  _train(tmp_path / "m", options=options)
  err = capsys.readouterr().err
  assert "6/6" in err and "step/s" in err
  assert "reconstruction_loss=" in err and "kl_loss=" in err and "loss=" in err
