"""Training throughput: infofrag_train's loop vs the bare compiled train step.

Conv VAE (dlib's conv_encoder / deconv_decoder, 10 latents, Bernoulli loss), batch 64,
64x64x1 synthetic_dsprites, CPU. Prints
  (a) steps/s of the real training loop (background data generation, progress-bar
      bookkeeping, summaries every 100 steps, checkpoint at the end), and
  (b) steps/s of the bare compiled train step on one fixed in-memory batch,
measured in alternating chunks so that both see the same (shared-machine) load; the
rates are total steps / total time over all chunks, and the ratio is (a)/(b).

  python benchmarks/train_throughput.py [--steps 50] [--repeats 8]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BINDINGS = [
    "model.model = @vae()", "vae.beta = 1.", "dataset.name = 'synthetic_dsprites'",
    "model.batch_size = 64", "model.training_steps = 1", "model.random_seed = 0",
    "encoder.num_latent = 10", "encoder.encoder_fn = @conv_encoder",
    "decoder.decoder_fn = @deconv_decoder", "reconstruction_loss.loss_fn = @bernoulli_loss",
    "vae_optimizer.optimizer_fn = @vae/AdamOptimizer", "vae/AdamOptimizer.learning_rate = 0.0001",
]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=50, help="timed steps per chunk")
  parser.add_argument("--repeats", type=int, default=8, help="alternating chunks of each")
  args = parser.parse_args()

  import gin  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from infofrag.data import named_data  # pylint: disable=g-import-not-at-top
  from infofrag.models import layers  # pylint: disable=g-import-not-at-top
  from infofrag.models import methods  # pylint: disable=g-import-not-at-top
  from infofrag.training import train  # pylint: disable=g-import-not-at-top

  train.parse_gin([], BINDINGS)
  tf.config.experimental.enable_op_determinism()
  dataset = named_data.get_named_ground_truth_data()
  model = methods.BetaVAE(beta=1.0)
  model.build(dataset.observation_shape, layers.SeedStream(0))
  options = train.LoopOptions(progress=True, checkpoint_every=10**9, summary_every=100)
  with tempfile.TemporaryDirectory() as work_dir:
    trainer = train._Trainer(model, dataset, work_dir, 10, 64, 0, 1, options, tf)  # pylint: disable=protected-access
    trainer.run()  # warm-up: traces the step, starts the data thread once
    fixed = tf.constant(dataset.sample_observations(64, np.random.RandomState(0)), tf.float32)
    for _ in range(5):
      trainer.train_step(fixed)
    loop_times, bare_times = [], []
    for _ in range(args.repeats):
      start = time.perf_counter()
      for _ in range(args.steps):
        terms = trainer.train_step(fixed)
      float(terms["loss"])  # wait for the last step
      bare_times.append(time.perf_counter() - start)
      trainer.training_steps = int(trainer.global_step.numpy()) + args.steps
      start = time.perf_counter()
      trainer.run()
      loop_times.append(time.perf_counter() - start)
  gin.clear_config()
  loop = args.steps * args.repeats / sum(loop_times)
  bare = args.steps * args.repeats / sum(bare_times)
  loop_rates = [args.steps / t for t in loop_times]
  bare_rates = [args.steps / t for t in bare_times]
  print(f"conv VAE, batch 64, 64x64x1 synthetic_dsprites, CPU ({os.cpu_count()} cores), "
        f"{args.repeats} alternating chunks of {args.steps} steps each")
  print(f"(a) full training loop (real data pipeline): {loop:.2f} steps/s  "
        f"(chunks: {', '.join(f'{r:.1f}' for r in loop_rates)})")
  print(f"(b) bare compiled train step, fixed batch:   {bare:.2f} steps/s  "
        f"(chunks: {', '.join(f'{r:.1f}' for r in bare_rates)})")
  print(f"ratio (a)/(b): {loop / bare:.3f}")


if __name__ == "__main__":
  main()
