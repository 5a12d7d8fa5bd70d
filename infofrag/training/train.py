"""Training of dlib-style VAEs with gin (TF2), writing dlib's model-directory layout.

`train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings, resume)` mirrors
dlib's `methods/unsupervised/train.py`. The gin configurable `model` (this module's
`train`) takes dlib's bindings: model.model, model.training_steps, model.random_seed,
model.batch_size, model.eval_steps, model.name, model.model_num.

Output, for `model_dir` = D:
  D/model/tfhub/                    SavedModel (see infofrag.export.saved_model)
  D/model/results/{gin/train.gin, json/train_config.json, json/train_results.json,
                   aggregate/train.json}   dlib's format (infofrag.utils.results)
  D/model/tf_checkpoint/            last training checkpoint
  D/model/logs/                     TensorBoard summaries of the loss terms
Everything is built in a hidden sibling folder `.D.infofrag_partial` (which also
holds the periodic checkpoints used by `resume`) and renamed to D at the very end, so
D exists only when complete.

Randomness (bit-identical re-runs on CPU): `np.random.RandomState(model.random_seed)`
draws a data seed and an evaluation seed as in dlib; weights are initialised from
stateless seeds (random_seed, layer index); latent sampling and FactorVAE's shuffling
use stateless seeds (random_seed, step), so no stateful TF random op is involved; the
data thread is the only user of its RandomState; and
`tf.config.experimental.enable_op_determinism()` is switched on (process-wide) so that
multi-threaded CPU kernels reduce in a fixed order. The checkpoint stores the data
generator's state, so a resumed run ends with the same weights as an uninterrupted one.
XLA (`jit_compile`) is not used: on CPU it was 2x slower for the circle MLP.

Difference from dlib kept on purpose: dlib's FactorVAE passes the global step to both of
its optimizers, so its global step advances by 2 per iteration; here one iteration is
one step, and `model.training_steps` counts iterations for every method.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import gin
import numpy as np

from infofrag.data import named_data
from infofrag.training import data_stream
from infofrag.utils import checks
from infofrag.utils import locks

# Importing these registers every configurable a dlib train.gin names.
from infofrag.export import saved_model as export_lib
from infofrag.models import architectures
from infofrag.models import layers
from infofrag.models import losses
from infofrag.models import methods
from infofrag.models import optimizers
from infofrag.utils import io
from infofrag.utils import results as results_lib


class TrainingError(ValueError):
  """A training request that cannot run; the message says what to change."""


@dataclasses.dataclass
class LoopOptions:
  """Settings of the training loop that do not change the trained model.

  Attributes
  ----------
  checkpoint_every : int
      Steps between checkpoints (also at the end and on Ctrl-C).
  checkpoint_seconds : float
      Seconds between checkpoints, whatever the step count, so a slow run stopped between
      step checkpoints loses at most this much work.
  summary_every : int
      Steps between TensorBoard summaries.
  progress : bool
      Show a tqdm progress bar (step, loss terms, steps/s).
  log_every : int
      Steps between progress-bar loss updates.
  prefetch : int
      Batches generated ahead by the data thread, beyond those of one call.
  steps_per_call : int
      Training steps run by one call of the compiled loop (fewer when a checkpoint or the
      end comes sooner, or when that many batches would exceed `chunk_bytes`). Calling
      TensorFlow once per step costs ~1 ms of dispatch, a sixth of the quickstart's MLP
      step; the weights do not depend on this value.
  chunk_bytes : int
      Upper bound on the memory of the batches of one call.
  """
  checkpoint_every: int = 1000
  checkpoint_seconds: float = 600.0
  summary_every: int = 100
  progress: bool = True
  log_every: int = 25
  prefetch: int = 4
  steps_per_call: int = 50
  chunk_bytes: int = 64 * 2**20


def partial_dir(model_dir: str) -> str:
  """The hidden sibling folder where an unfinished run of `model_dir` lives."""
  model_dir = os.path.abspath(model_dir)
  return os.path.join(os.path.dirname(model_dir), f".{os.path.basename(model_dir)}.infofrag_partial")


def register_configurables() -> None:
  """Imports every module holding a gin configurable a training config may name.

  Dataset modules are otherwise imported lazily by named_data, which would register
  their configurables (e.g. `circle.num_angles`) after gin has locked the config.
  """
  for module_name in sorted({entry[0] for entry in named_data._DATASETS.values()}):
    try:
      importlib.import_module(f"infofrag.data.ground_truth.{module_name}")
    except ImportError:
      pass  # A loader not available in this install; named_data reports it if chosen.


def parse_gin(gin_config_files: Sequence[str] | None = None,
              gin_bindings: Sequence[str] | None = None) -> None:
  """Parses gin files and bindings; bad input raises TrainingError (one line)."""
  register_configurables()
  for path in gin_config_files or []:
    if not os.path.isfile(path):
      raise TrainingError(f"gin config file not found: {path}")
  try:
    gin.parse_config_files_and_bindings(list(gin_config_files or []), list(gin_bindings or []))
  except (ValueError, KeyError, SyntaxError, TypeError) as error:
    message = " ".join(str(error).split())
    raise TrainingError(f"bad gin configuration: {message}") from error


def train_with_gin(model_dir: str, overwrite: bool = False,
                   gin_config_files: Sequence[str] | None = None,
                   gin_bindings: Sequence[str] | None = None, resume: bool = False,
                   options: LoopOptions | None = None) -> dict:
  """Trains one model configured by gin files and bindings (dlib's train_with_gin).

  Parameters
  ----------
  model_dir : str
      Output directory D (D/model/... is written).
  overwrite : bool
      Replace an existing D (otherwise an existing D is an error).
  gin_config_files : sequence of str or None
      Gin files, parsed in order.
  gin_bindings : sequence of str or None
      Binding strings, e.g. ``["vae.beta = 4."]``, applied last.
  resume : bool
      Continue an interrupted run of D from its last checkpoint.
  options : LoopOptions or None
      Checkpoint and summary cadence, threads (default ``LoopOptions()``).

  Returns
  -------
  dict
      The train results written to train_results.json.
  """
  gin.clear_config()
  try:
    parse_gin(gin_config_files, gin_bindings)
    return train(model_dir, overwrite=overwrite, resume=resume, options=options)
  finally:
    gin.clear_config()


@gin.configurable("model", denylist=["model_dir", "overwrite", "resume", "options"])
def train(model_dir: str, overwrite: bool = False, resume: bool = False,
          options: LoopOptions | None = None, model: Any = gin.REQUIRED,
          training_steps: int = gin.REQUIRED, random_seed: int = gin.REQUIRED,
          batch_size: int = gin.REQUIRED, eval_steps: int = 1000, name: str = "",
          model_num: int | None = None) -> dict:
  """Trains `model` and writes D/model/{tfhub, results, tf_checkpoint, logs}.

  The gin parameters are dlib's ``model.*``; `name` and `model_num` are only recorded.

  Parameters
  ----------
  model_dir, overwrite, resume, options
      See `train_with_gin`.
  model : GaussianEncoderModel
      A method instance, e.g. ``@vae()``.
  training_steps, random_seed, batch_size, eval_steps : int
      Optimiser steps, seed of every random draw, examples per step, and the examples
      of the final evaluation.
  name : str
  model_num : int or None

  Returns
  -------
  dict
      The train results.
  """
  del name, model_num
  options = options or LoopOptions()
  training_steps = checks.check_positive_int(training_steps, name="model.training_steps",
                                             error=TrainingError)
  batch_size = checks.check_positive_int(batch_size, name="model.batch_size", error=TrainingError)
  eval_steps = checks.check_positive_int(eval_steps, name="model.eval_steps", error=TrainingError)
  if isinstance(random_seed, bool) or not isinstance(random_seed, (int, np.integer)) \
      or not 0 <= random_seed < 2**32:
    raise TrainingError(f"model.random_seed must be an integer in [0, 2**32), got {random_seed!r}.")
  model_dir = os.path.abspath(model_dir)
  # Two trainings of one folder would race, the last to finish silently replacing the
  # other's model (or --overwrite deleting a running one): the second is refused.
  with locks.exclusive_folder_lock(model_dir, purpose="being trained"):
    return _train_locked(model_dir, overwrite, resume, options, model, training_steps,
                         random_seed, batch_size, eval_steps)


def _train_locked(model_dir, overwrite, resume, options, model, training_steps, random_seed,
                  batch_size, eval_steps):
  """`train` once the model folder's lock is held (arguments checked)."""
  if os.path.exists(model_dir) and not overwrite and resume:
    raise TrainingError(f"model directory {model_dir} is already complete; nothing to resume "
                        "(pass --overwrite to train it again).")
  if os.path.exists(model_dir) and not overwrite:
    raise TrainingError(f"model directory {model_dir} already exists; pass --overwrite "
                        "(overwrite=True) to replace it or choose another --model_dir.")
  work_dir = partial_dir(model_dir)

  dataset = named_data.get_named_ground_truth_data()
  import tensorflow as tf
  tf.config.experimental.enable_op_determinism()
  tf.random.set_seed(random_seed % (2**31 - 1))
  seed_state = np.random.RandomState(random_seed)
  train_data_seed = seed_state.randint(2**32)
  eval_data_seed = seed_state.randint(2**32)

  model.build(dataset.observation_shape, layers.SeedStream(random_seed))
  _smoke_test(model, dataset, tf)

  _prepare_work_dir(work_dir, resume=resume, overwrite=overwrite)
  trainer = _Trainer(model, dataset, work_dir, training_steps, batch_size, random_seed,
                     train_data_seed, options, tf)
  if resume:
    trainer.restore()
  trainer.run()
  results = trainer.evaluate(eval_data_seed, eval_steps)

  info = {
      "format": "infofrag-savedmodel-v1",
      "observation_shape": list(dataset.observation_shape),
      "num_latent": model.num_latent,
      "decoder_output": gin.query_parameter("reconstruction_loss.activation")
                        if _is_bound("reconstruction_loss.activation") else "logits",
      "method": model.method_name,
      "dataset": gin.query_parameter("dataset.name") if _is_bound("dataset.name") else None,
  }
  for leftover in ("tfhub", "results"):  # From a run that died while exporting.
    shutil.rmtree(os.path.join(work_dir, "model", leftover), ignore_errors=True)
  export_lib.export_as_tf_hub(model, os.path.join(work_dir, "model", "tfhub"), info)
  written = results_lib.update_result_directory(
      os.path.join(work_dir, "model", "results"), "train", results)
  _publish(work_dir, model_dir)
  return written


REQUEST_FILE = "infofrag_request.gin"


def _config_differences(stored_text, requested_text):
  """['binding: X in the checkpoint's run, Y now', ...] between two gin config texts."""
  stored, requested = results_lib.gin_dict(stored_text), results_lib.gin_dict(requested_text)
  return [f"{name}: {stored.get(name, '(unset)')} in the interrupted run, "
          f"{requested.get(name, '(unset)')} now"
          for name in sorted(set(stored) | set(requested)) if stored.get(name) != requested.get(name)]


def _prepare_work_dir(work_dir, resume, overwrite):
  """Creates (or checks) the hidden folder of an unfinished run, before any training.

  An interrupted run is continued only with `resume` and only under the same gin config
  (recorded in REQUEST_FILE when the run started); it is discarded only with `overwrite`.
  """
  requested = gin.config_str()
  request_path = os.path.join(work_dir, REQUEST_FILE)
  if os.path.exists(work_dir):
    if resume:
      if os.path.exists(request_path):
        with open(request_path) as f:
          differences = _config_differences(f.read(), requested)
        if differences:
          raise TrainingError(
              f"--resume: the interrupted run in {work_dir} was started with another config ("
              + "; ".join(differences) + "); resume with the same config, or pass --overwrite "
              "without --resume to discard it.")
    elif overwrite:
      shutil.rmtree(work_dir)
    else:
      raise TrainingError(
          f"an interrupted run of this model exists in {work_dir}; pass --resume to continue it "
          "or --overwrite to discard it and start again.")
  os.makedirs(work_dir, exist_ok=True)
  if not os.path.exists(request_path):
    io.write_text_atomic(request_path, requested)


def _is_bound(binding):
  try:
    gin.query_parameter(binding)
    return True
  except ValueError:
    return False


def _smoke_test(model, dataset, tf):
  """Runs the loss once on two examples so shape/config errors surface before writing."""
  observations = dataset.sample_observations(2, np.random.RandomState(0))
  try:
    model.forward(tf.constant(observations, tf.float32), tf.constant(0, tf.int64),
                  tf.constant([0, 0], tf.int64))
  except tf.errors.InvalidArgumentError as error:
    first = " ".join(str(error).splitlines()[0].split())[:300]
    raise TrainingError(
        f"the model does not fit the dataset's observations of shape "
        f"{list(dataset.observation_shape)}: {first}") from error


def _loss_term_keys(model, dataset, tf) -> list[str]:
  """Sorted names of the loss terms `model.train_step` returns (from one eager forward
  pass on two observations, which changes no weight)."""
  observations = dataset.sample_observations(2, np.random.RandomState(0))
  terms = model.forward(tf.constant(observations, tf.float32), tf.constant(0, tf.int64),
                        tf.constant([0, 0], tf.int64))
  return sorted(terms)


def _write_scalars(tf, writer, values, step):
  """TensorBoard scalar summaries without needing the tensorboard package installed."""
  from tensorflow.core.framework import summary_pb2
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = "scalars"  # What TensorBoard's scalar plugin reads.
  serialized = metadata.SerializeToString()
  with writer.as_default(step=step):
    for key, value in values.items():
      tf.summary.write(key, tf.constant(value, tf.float32), metadata=serialized)
  writer.flush()


def _publish(work_dir, model_dir):
  """Atomically moves the finished run to model_dir (replacing an old one)."""
  old = None
  if os.path.exists(model_dir):
    old = f"{work_dir}.old"
    if os.path.exists(old):
      shutil.rmtree(old)
    os.rename(model_dir, old)
  os.rename(work_dir, model_dir)
  if old is not None:
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _signals_deferred():
  """Holds SIGINT and SIGTERM until the block ends, then acts on the last one that came.

  A checkpoint interrupted half-way would leave nothing to resume from. Outside the main
  thread (where handlers cannot be changed) the block runs unprotected.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  arrived = []
  previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
  for sig in previous:
    signal.signal(sig, lambda signum, frame: arrived.append((signum, frame)))
  try:
    yield
  finally:
    for sig, handler in previous.items():
      signal.signal(sig, handler)
  if arrived:
    signum, frame = arrived[-1]
    handler = previous[signum]
    if callable(handler):
      handler(signum, frame)
    elif handler == signal.SIG_DFL:
      raise KeyboardInterrupt


class _Trainer:
  """The training loop with checkpoints, summaries and a progress bar."""

  def __init__(self, model, dataset, work_dir, training_steps, batch_size, random_seed,
               data_seed, options, tf):
    self.tf = tf
    self.model = model
    self.dataset = dataset
    self.training_steps = training_steps
    self.batch_size = batch_size
    self.options = options
    self.seed_base = tf.constant(int(random_seed) % (2**31 - 1), tf.int64)
    self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_time")
    self.random_state = np.random.RandomState(data_seed)
    state = data_stream.state_to_arrays(self.random_state.get_state())
    self.data_state = {key: tf.Variable(value, trainable=False, name=f"data_{key}")
                       for key, value in state.items()}
    self.checkpoint = tf.train.Checkpoint(model=model, global_step=self.global_step,
                                          elapsed=self.elapsed, data_state=self.data_state)
    self.checkpoint_dir = os.path.join(work_dir, "model", "tf_checkpoint")
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.checkpoint_dir,
                                              max_to_keep=1)
    self.log_dir = os.path.join(work_dir, "model", "logs")
    self.train_step = tf.function(self._train_step)
    batch_shape = [batch_size] + list(dataset.observation_shape)
    self.term_keys = _loss_term_keys(model, dataset, tf)
    self.train_steps = tf.function(
        self._train_steps, input_signature=[tf.TensorSpec([None] + batch_shape, tf.float32)])
    batch_bytes = 4 * int(np.prod(batch_shape))
    self.steps_per_call = max(1, min(int(options.steps_per_call),
                                     int(options.chunk_bytes) // batch_bytes))

  def _train_step(self, x):
    """One step on batch x of shape (batch_size, *observation_shape); the loss terms."""
    step = self.global_step.read_value()
    terms = self.model.train_step(x, step, self.tf.stack([self.seed_base, step]))
    self.global_step.assign_add(1)
    return terms

  def _train_steps(self, batches):
    """Steps on each of `batches`, shape (steps, batch_size, *observation_shape), in one
    compiled loop; {term: ndarray of shape (steps,)}, each step's loss terms."""
    tf = self.tf
    count = tf.shape(batches)[0]
    arrays = {key: tf.TensorArray(tf.float32, size=count) for key in self.term_keys}
    for index in tf.range(count):
      terms = self._train_step(batches[index])
      arrays = {key: array.write(index, tf.cast(terms[key], tf.float32))
                for key, array in arrays.items()}
    return {key: array.stack() for key, array in arrays.items()}

  def _steps_in_next_call(self, done: int) -> int:
    """Steps of the next compiled call after `done` steps: it ends at the next step
    checkpoint or at the end of training, whichever comes first."""
    to_checkpoint = self.options.checkpoint_every - done % self.options.checkpoint_every
    return min(self.steps_per_call, self.training_steps - done, to_checkpoint)

  def restore(self):
    """Loads the last checkpoint of an interrupted run (no-op if there is none)."""
    latest = self.manager.latest_checkpoint
    if latest is None:
      print(f"infofrag_train: nothing to resume in {self.checkpoint_dir}; starting from step 0.",
            file=sys.stderr)
      return
    self.checkpoint.restore(latest).assert_existing_objects_matched()
    arrays = {key: variable.numpy() for key, variable in self.data_state.items()}
    self.random_state.set_state(data_stream.arrays_to_state(arrays))

  def _save(self, state):
    """Writes a checkpoint; SIGINT/SIGTERM arriving meanwhile take effect once it is written."""
    with _signals_deferred():
      for key, value in data_stream.state_to_arrays(state).items():
        self.data_state[key].assign(value)
      self.manager.save(checkpoint_number=int(self.global_step.numpy()))

  def run(self):
    """Trains up to training_steps, checkpointing periodically and on interruption."""
    tf = self.tf
    from tqdm import tqdm
    start = int(self.global_step.numpy())
    if start >= self.training_steps:
      return
    writer = tf.summary.create_file_writer(self.log_dir)
    # State of the data generator after the batches of `done` steps, keyed by `done`.
    states = {start: self.random_state.get_state()}
    bar = tqdm(total=self.training_steps, initial=start, unit="step", dynamic_ncols=True,
               disable=not self.options.progress, desc="train", smoothing=0.1)
    timer = last_save = time.time()
    # The data thread renders the next call's batches while TensorFlow runs this one.
    stream = data_stream.BatchStream(self.dataset, self.batch_size, self.random_state,
                                     self.options.prefetch + self.steps_per_call)
    done = start
    try:
      while done < self.training_steps:
        count = self._steps_in_next_call(done)
        batches = []
        for _ in range(count):
          batch, state = stream.next()
          batches.append(batch)
        states[done + count] = state
        terms = self.train_steps(np.stack(batches))
        states.pop(done, None)
        self._report(terms, done, count, bar, writer)
        done += count
        due = time.time() - last_save >= self.options.checkpoint_seconds
        if done % self.options.checkpoint_every == 0 or done == self.training_steps or due:
          self.elapsed.assign_add(time.time() - timer)
          timer = last_save = time.time()
          self._save(states[done])
    except KeyboardInterrupt:
      done = int(self.global_step.numpy())
      self.elapsed.assign_add(time.time() - timer)
      self._save(states[done])
      bar.close()
      print(f"\ninfofrag_train: interrupted at step {done}; checkpoint saved. "
            "Re-run with --resume to continue.", file=sys.stderr)
      raise
    finally:
      stream.close()
      bar.close()
      writer.close()

  def _report(self, terms, done, count, bar, writer):
    """Progress-bar loss values and TensorBoard summaries of steps done+1 .. done+count,
    at the steps `log_every` and `summary_every` pick (and the last step)."""
    options = self.options
    steps = range(done + 1, done + count + 1)
    shown = [s for s in steps if s % options.log_every == 0 or s == self.training_steps]
    summarised = [s for s in steps
                  if s % options.summary_every == 0 or s == self.training_steps]
    if shown or summarised:  # Reading values syncs with TF, so only now and then.
      values = {key: value.numpy() for key, value in terms.items()}
      for step in summarised:
        _write_scalars(self.tf, writer, {key: float(v[step - done - 1])
                                         for key, v in values.items()}, step)
      if shown:
        last = shown[-1] - done - 1
        bar.set_postfix({key: f"{v[last]:.4g}" for key, v in values.items() if key != "elbo"},
                        refresh=False)
    bar.update(count)

  def evaluate(self, eval_data_seed, eval_steps):
    """dlib's train results: loss terms averaged over eval_steps fresh batches."""
    tf = self.tf
    forward = tf.function(self.model.forward)
    step = self.global_step.read_value()
    random_state = np.random.RandomState(eval_data_seed)
    sums = {}
    for i in range(eval_steps):
      batch = self.dataset.sample_observations(self.batch_size, random_state)
      terms = forward(tf.constant(batch, tf.float32), step,
                      tf.stack([self.seed_base, tf.constant(-(i + 1), tf.int64)]))
      for key in self.model.result_keys:
        sums[key] = sums.get(key, 0.0) + float(terms[key])
    results = {key: sums[key] / eval_steps for key in sorted(sums)}
    results["global_step"] = int(step.numpy())
    results["elapsed_time"] = float(self.elapsed.numpy())
    return results
