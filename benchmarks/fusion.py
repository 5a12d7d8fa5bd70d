"""Speed of infofrag.fusion.fuse against the published formulation of the same objective.

Run (from the repository root):
  python benchmarks/fusion.py            # M = 50 members, N = 200, 20,000 SGD steps, objective "info"
  python benchmarks/fusion.py --quick    # smoke test: 2,000 steps, baseline on 300

The baseline lives in this file and follows the paper's fusion notebook
(murphyka/representation-space-info-comparison, Rep_space_fusion_SO(2).ipynb, as
in the authors' Rep_space_fusion_SO(2) notebook): one `tf.function` per SGD step whose body
loops over the members in Python, each member's term a float64 log-sum-exp over the
[N, N] sum of the two fingerprints, no XLA. It is timed on a few thousand steps and
scaled linearly to the full step count. The members are synthetic circle weak
learners (the circle cut open at a random angle and unrolled, as a 1-D VAE does).
The run also checks that the fast float32 path agrees with a float64 evaluation
of the objective through infofrag.fragments.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from infofrag import fragments
from infofrag import fusion
from infofrag.fusion import objectives


def circle_learners(num_members, num_points, seed=0):
  """[M, N, N] float64 fingerprints of unrolled-circle weak learners."""
  rng = np.random.default_rng(seed)
  angles = np.linspace(0.0, 2.0 * np.pi, num_points, endpoint=False)
  fps = []
  for _ in range(num_members):
    position = np.mod(angles - rng.uniform(0, 2 * np.pi), 2 * np.pi) / (2 * np.pi) - 0.5
    fps.append(fragments.bhattacharyya_distances(6.0 * position[:, None], np.full((num_points, 1), np.log(0.05))))
  return np.stack(fps)


def baseline_seconds_per_step(members, steps, learning_rate=3.0, dim=2, seed=0):
  """Seconds per step of the published formulation (Python loop over members, float64, no XLA)."""
  import tensorflow as tf
  num_points = members.shape[1]
  init_mus, init_logvars = fusion.initial_posteriors(num_points, dim, seed)
  mus = tf.Variable(init_mus, dtype=tf.float64)
  logvars = tf.Variable(init_logvars, dtype=tf.float64)
  member_tensors = [tf.constant(m, dtype=tf.float64) for m in members]
  optimizer = tf.keras.optimizers.SGD(learning_rate)

  def distances(mu, logvar):
    variances = tf.exp(logvar)
    mean_var = 0.5 * (variances[:, None, :] + variances[None, :, :])
    terms = 0.125 * tf.square(mu[:, None, :] - mu[None, :, :]) / mean_var + 0.5 * (
        tf.math.log(mean_var) - 0.5 * (logvar[:, None, :] + logvar[None, :, :]))
    return tf.reduce_sum(terms, axis=-1)

  def info_similarity(first, second):  # nats, without the constant log N (as in the notebook)
    info_1 = -tf.reduce_mean(tf.math.reduce_logsumexp(-first, axis=1))
    info_2 = -tf.reduce_mean(tf.math.reduce_logsumexp(-second, axis=1))
    info_12 = -tf.reduce_mean(tf.math.reduce_logsumexp(-first - second, axis=1))
    return info_1 + info_2 - info_12

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      fused = distances(mus, logvars)
      total = 0.0
      for member in member_tensors:  # the published Python loop over members
        total -= info_similarity(fused, member)
      loss = total / len(member_tensors)
    grads = tape.gradient(loss, [mus, logvars])
    optimizer.apply_gradients(zip(grads, [mus, logvars]))
    return total

  step()  # trace and warm up
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return (time.perf_counter() - start) / steps


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--quick", action="store_true", help="short smoke run")
  parser.add_argument("--members", type=int, default=50)
  parser.add_argument("--points", type=int, default=200)
  args = parser.parse_args()
  steps, baseline_steps = (2000, 300) if args.quick else (20000, 2000)
  members = circle_learners(args.members, args.points)
  print(f"fusion benchmark: M = {args.members} members, N = {args.points}, objective info, SGD lr 3.0")

  result = fusion.fuse(members, objective="info", steps=steps, seed=0, record_every=1000)
  print(f"infofrag fuse (float32, XLA, while_loop, all members in one contraction): "
        f"{steps} steps in {result.seconds:.1f} s ({1e3 * result.seconds / steps:.2f} ms/step)")

  per_step = baseline_seconds_per_step(members, baseline_steps)
  print(f"published formulation (tf.function per step, Python loop over members, float64, no XLA): "
        f"{1e3 * per_step:.2f} ms/step, timed on {baseline_steps} steps -> {per_step * steps:.1f} s "
        f"for {steps} steps (scaled)")
  print(f"speed-up: {per_step * steps / result.seconds:.1f}x")

  exact = objectives.member_similarities(result.mus, result.logvars, members, "info").mean()
  print(f"final mean mutual information: compiled float32 {result.history[-1]:.6f} bits, "
        f"float64 fragments {exact:.6f} bits (difference {abs(result.history[-1] - exact):.2e})")
  fused_info = fragments.information(fragments.bhattacharyya_distances(result.mus, result.logvars))
  print(f"fused information {float(fused_info):.3f} bits; members mean "
        f"{fragments.information(members).mean():.3f}, max {fragments.information(members).max():.3f}; "
        f"continuity {fusion.continuity(result.mus, result.logvars):.3g}")


if __name__ == "__main__":
  main()
