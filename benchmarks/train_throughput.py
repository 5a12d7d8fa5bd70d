"""Training throughput: infofrag_train's loop against the bare compiled step.

Prints steps/s of, measured in alternating chunks so that all see the same load:
  (a) the real training loop (background data generation, `steps_per_call` steps per
      compiled call, progress-bar bookkeeping, summaries every 100 steps);
  (b) the bare compiled train step called once per step on one fixed in-memory batch
      (the execution model of dlib's TF1 loop: one `session.run` per step);
  (c) the bare compiled loop: `steps_per_call` steps on fixed in-memory batches per call
      (the floor: no data generation, no Python between steps);
  (d) with --tf1, the same model as a TF1 graph run by `tf.compat.v1.Session`, one
      `session.run` per step fed one fixed batch (dlib's TF1 step without its input
      pipeline; dlib itself needs TensorFlow 1 and cannot run here).
  (e) with --adam_compare, (c) with the Adam update written as about ten element-wise
      operations per variable (before infofrag used TF1's fused kernel), timed in
      alternation with (c).
Rates are total steps / total time over all chunks; ratios are (a)/(b), (a)/(c), (a)/(d).

Models: `--model conv` is dlib's conv VAE (conv_encoder / deconv_decoder, 10 latents,
Bernoulli loss) on 64x64 synthetic_dsprites; `--model quick32` the quickstart's learner
(gin_configs/quick32/vae.gin: 256-unit MLP on synthetic_dsprites_32). Batch 64, CPU.
Set TF_NUM_INTRAOP_THREADS=1 to measure one training's share of a 2-core machine.

  python benchmarks/train_throughput.py [--model conv] [--steps 100] [--repeats 6] [--tf1]
                                        [--adam_compare]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONV_BINDINGS = [
    "model.model = @vae()", "vae.beta = 1.", "dataset.name = 'synthetic_dsprites'",
    "model.batch_size = 64", "model.training_steps = 1", "model.random_seed = 0",
    "encoder.num_latent = 10", "encoder.encoder_fn = @conv_encoder",
    "decoder.decoder_fn = @deconv_decoder", "reconstruction_loss.loss_fn = @bernoulli_loss",
    "vae_optimizer.optimizer_fn = @vae/AdamOptimizer", "vae/AdamOptimizer.learning_rate = 0.0001",
]


def _rate(steps, times):
  return steps * len(times) / sum(times)


def _tf1_step_seconds(tf, np, dataset, batch, steps, repeats):
  """Seconds per chunk of `steps` session.run calls of the model's train step built as a
  TF1 graph (fixed fed batch), one entry per repeat."""
  from infofrag.models import layers
  from infofrag.models import methods
  graph = tf.Graph()
  with graph.as_default():
    model = methods.BetaVAE(beta=1.0)
    model.build(dataset.observation_shape, layers.SeedStream(0))
    images = tf.compat.v1.placeholder(tf.float32, [64] + list(dataset.observation_shape))
    step = tf.compat.v1.placeholder(tf.int64, [])
    before = set(graph.get_operations())
    terms = model.train_step(images, step, tf.stack([tf.constant(0, tf.int64), step]))
    # A TF1 graph runs only what is fetched: fetch the step's variable updates too.
    updates = [op for op in graph.get_operations() if op not in before
               and op.type.startswith(("AssignVariableOp", "AssignAddVariableOp",
                                       "AssignSubVariableOp", "ResourceApply"))]
    fetches = [terms["loss"], updates]
    initialise = tf.compat.v1.global_variables_initializer()
  times = []
  with tf.compat.v1.Session(graph=graph) as session:
    session.run(initialise)
    for i in range(5):
      session.run(fetches, {images: batch, step: i})
    for _ in range(repeats):
      start = time.perf_counter()
      for i in range(steps):
        session.run(fetches, {images: batch, step: i})
      times.append(time.perf_counter() - start)
  return times


def _elementwise_adam(tf):
  """AdamOptimizer.apply_gradients as infofrag wrote it before using TF1's fused kernel."""
  def apply_gradients(self, gradients, variables, global_step):
    t = tf.cast(self.iterations.assign_add(1), tf.float32)
    lr_t = (self.current_learning_rate(global_step) * tf.sqrt(1.0 - self.beta2 ** t)
            / (1.0 - self.beta1 ** t))
    for gradient, variable, m, v in zip(gradients, variables, self.m, self.v):
      m.assign(self.beta1 * m + (1.0 - self.beta1) * gradient)
      v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(gradient))
      variable.assign_sub(lr_t * m / (tf.sqrt(v) + self.epsilon))
  return apply_gradients


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", choices=("conv", "quick32"), default="conv")
  parser.add_argument("--steps", type=int, default=100, help="timed steps per chunk")
  parser.add_argument("--repeats", type=int, default=6, help="alternating chunks of each")
  parser.add_argument("--steps_per_call", type=int, default=50,
                      help="the loop's steps per compiled call (default 50, as infofrag_train)")
  parser.add_argument("--tf1", action="store_true", help="also time (d), a TF1 graph step")
  parser.add_argument("--adam_compare", action="store_true",
                      help="also time (e): (c) with Adam as ten element-wise operations per "
                           "variable (infofrag's update before it ran TF1's fused kernel)")
  args = parser.parse_args()

  import gin
  import numpy as np
  import tensorflow as tf
  from infofrag.data import named_data
  from infofrag.models import layers
  from infofrag.models import methods
  from infofrag.training import train
  from infofrag.utils import paths

  if args.model == "conv":
    train.parse_gin([], CONV_BINDINGS)
    described = "conv VAE, 64x64x1 synthetic_dsprites"
  else:
    train.parse_gin([paths.gin_config_path("quick32", "vae.gin")], [])
    described = "quickstart MLP VAE, 32x32x1 synthetic_dsprites_32"
  tf.config.experimental.enable_op_determinism()
  dataset = named_data.get_named_ground_truth_data()
  model = methods.BetaVAE(beta=1.0)
  model.build(dataset.observation_shape, layers.SeedStream(0))
  options = train.LoopOptions(progress=True, checkpoint_every=10**9, summary_every=100,
                              steps_per_call=args.steps_per_call)
  random_state = np.random.RandomState(0)
  batch = dataset.sample_observations(64, random_state).astype(np.float32)
  fixed = tf.constant(batch)
  per_call = min(args.steps_per_call, args.steps)
  stacked = tf.constant(np.stack([batch] * per_call))
  with tempfile.TemporaryDirectory() as work_dir:
    trainer = train._Trainer(model, dataset, work_dir, args.steps_per_call, 64, 0, 1,
                             options, tf)
    trainer.run()  # warm-up: traces the loop, starts the data thread once
    for _ in range(3):
      trainer.train_step(fixed)
      trainer.train_steps(stacked)
    loop_times, bare_times, fused_times = [], [], []
    for _ in range(args.repeats):
      start = time.perf_counter()
      for _ in range(args.steps):
        terms = trainer.train_step(fixed)
      float(terms["loss"])  # wait for the last step
      bare_times.append(time.perf_counter() - start)
      start = time.perf_counter()
      for _ in range(args.steps // per_call):
        terms = trainer.train_steps(stacked)
      float(terms["loss"][-1])
      fused_times.append((time.perf_counter() - start) * args.steps / (args.steps // per_call
                                                                         * per_call))
      trainer.training_steps = int(trainer.global_step.numpy()) + args.steps
      start = time.perf_counter()
      trainer.run()
      loop_times.append(time.perf_counter() - start)
    elementwise_times = []
    if args.adam_compare:
      from infofrag.models import optimizers
      fused_apply = optimizers.AdamOptimizer.apply_gradients
      optimizers.AdamOptimizer.apply_gradients = _elementwise_adam(tf)
      try:  # the patched update is traced into the second trainer's loop only
        other = methods.BetaVAE(beta=1.0)
        other.build(dataset.observation_shape, layers.SeedStream(0))
        other_trainer = train._Trainer(other, dataset, work_dir + "/e", args.steps_per_call,
                                       64, 0, 1, options, tf)
        other_trainer.train_steps(stacked)
      finally:
        optimizers.AdamOptimizer.apply_gradients = fused_apply
      fused_again = []
      for _ in range(args.repeats):
        for runner, times in ((other_trainer, elementwise_times), (trainer, fused_again)):
          start = time.perf_counter()
          for _ in range(args.steps // per_call):
            terms = runner.train_steps(stacked)
          float(terms["loss"][-1])
          times.append(time.perf_counter() - start)
  tf1_times = _tf1_step_seconds(tf, np, dataset, batch, args.steps, args.repeats) \
      if args.tf1 else None
  gin.clear_config()
  loop, bare, fused = (_rate(args.steps, t) for t in (loop_times, bare_times, fused_times))
  threads = os.environ.get("TF_NUM_INTRAOP_THREADS", "default")
  print(f"{described}, batch 64, CPU ({os.cpu_count()} cores, TF intra-op threads: {threads}); "
        f"{args.repeats} alternating chunks of {args.steps} steps each; load "
        f"{os.getloadavg()[0]:.2f}")
  print(f"(a) training loop, {args.steps_per_call} steps per call:   {loop:7.2f} steps/s")
  print(f"(b) bare compiled step, one call per step:   {bare:7.2f} steps/s")
  print(f"(c) bare compiled loop, {per_call} steps per call: {fused:7.2f} steps/s")
  if tf1_times:
    tf1 = _rate(args.steps, tf1_times)
    print(f"(d) TF1 graph, one session.run per step:     {tf1:7.2f} steps/s")
  if elementwise_times:
    done = args.steps // per_call * per_call
    elementwise, fused_alternating = (_rate(done, t) for t in (elementwise_times, fused_again))
    print(f"(e) as (c), element-wise Adam:             {elementwise:7.2f} steps/s "
          f"(alternating with (c) again: {fused_alternating:.2f}); fused kernel / element-wise: "
          f"{fused_alternating / elementwise:.3f}")
  print(f"ratio (a)/(b): {loop / bare:.3f}   (a)/(c): {loop / fused:.3f}"
        + (f"   (a)/(d): {loop / tf1:.3f}" if tf1_times else ""))


if __name__ == "__main__":
  main()
