"""Optimizers configured by gin exactly as in disentanglement_lib.

`vae_optimizer.optimizer_fn = @vae/AdamOptimizer`, `vae_optimizer.learning_rate`,
`discriminator_optimizer.*`, and `AdamOptimizer.{learning_rate, beta1, beta2, epsilon,
name, use_locking}` (usually scoped: `vae/AdamOptimizer.beta1 = 0.9`).

`AdamOptimizer` reproduces TF1's `tf.train.AdamOptimizer` update (the one dlib used) with
the kernel TF1 runs for it (`ResourceApplyAdam`, one pass over each variable):
  t <- t + 1;  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
  m <- m + (1 - beta1) (g - m);  v <- v + (1 - beta2) (g^2 - v)
  w <- w - lr_t m / (sqrt(v) + epsilon)
(the same update as beta1 m + (1 - beta1) g, up to rounding). One fused kernel instead of
about ten element-wise operations per variable made the quickstart's MLP step 1.2x faster
(`benchmarks/train_throughput.py --model quick32 --adam_compare`). Its slots are plain variables, so it is checkpointed
with the model.
"""

from __future__ import annotations

import gin
import tensorflow as tf


@gin.configurable("AdamOptimizer", module="tf.train")
class AdamOptimizer(tf.Module):
  """TF1-style Adam as a `tf.Module` (see the module docstring for the update)."""

  def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
               use_locking=False, name="Adam"):
    super().__init__(name=name)
    del use_locking  # TF1 locking flag; updates here are never concurrent.
    for label, value in (("beta1", beta1), ("beta2", beta2)):
      if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"AdamOptimizer.{label} must be in [0, 1), got {value!r}.")
    self.learning_rate = learning_rate
    self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
    self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
    self.m, self.v = [], []

  def build(self, variables):
    """Creates the first/second moment slots for `variables` (call once, eagerly)."""
    self.m = [tf.Variable(tf.zeros_like(v), trainable=False, name="m") for v in variables]
    self.v = [tf.Variable(tf.zeros_like(v), trainable=False, name="v") for v in variables]

  def current_learning_rate(self, global_step):
    """The learning rate; a callable is a schedule called with `global_step=`."""
    if callable(self.learning_rate):
      return tf.cast(self.learning_rate(global_step=global_step), tf.float32)
    return tf.constant(self.learning_rate, tf.float32)

  def apply_gradients(self, gradients, variables, global_step):
    """One Adam update of `variables` (same order as `build`) with `gradients`."""
    if len(self.m) != len(variables):
      raise RuntimeError("AdamOptimizer.build(variables) must be called before training.")
    t = tf.cast(self.iterations.assign_add(1), tf.float32)
    learning_rate = self.current_learning_rate(global_step)
    beta1, beta2 = tf.constant(self.beta1), tf.constant(self.beta2)
    beta1_power, beta2_power = beta1 ** t, beta2 ** t
    epsilon = tf.constant(self.epsilon)
    for gradient, variable, m, v in zip(gradients, variables, self.m, self.v):
      if gradient is None:
        continue
      tf.raw_ops.ResourceApplyAdam(
          var=variable.handle, m=m.handle, v=v.handle, beta1_power=beta1_power,
          beta2_power=beta2_power, lr=learning_rate, beta1=beta1, beta2=beta2,
          epsilon=epsilon, grad=gradient)


def make_optimizer(optimizer_fn, learning_rate):
  """optimizer_fn() or optimizer_fn(learning_rate=...) when a rate is given (dlib)."""
  if learning_rate is None:
    return optimizer_fn()
  return optimizer_fn(learning_rate=learning_rate)


@gin.configurable("vae_optimizer")
def make_vae_optimizer(optimizer_fn=gin.REQUIRED, learning_rate=None):
  """The VAE's optimizer (gin: `vae_optimizer.*`)."""
  return make_optimizer(optimizer_fn, learning_rate)


@gin.configurable("discriminator_optimizer")
def make_discriminator_optimizer(optimizer_fn=gin.REQUIRED, learning_rate=None):
  """FactorVAE's discriminator optimizer (gin: `discriminator_optimizer.*`)."""
  return make_optimizer(optimizer_fn, learning_rate)
