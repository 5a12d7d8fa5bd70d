"""Reconstruction losses and VAE regularisers, as defined in disentanglement_lib.

gin names as in dlib's `methods/shared/losses.py`: `reconstruction_loss.loss_fn`
(`@bernoulli_loss` or `@l2_loss`), `reconstruction_loss.activation` ('logits' or
'tanh'; infofrag adds 'linear' for real-valued vector data such as `circle`),
`bernoulli_loss.subtract_true_image_entropy`. `l2_loss.reduction` is an infofrag
extension: 'sum' over data dimensions (dlib) or 'mean' (the paper's circle models,
which use Keras' MeanSquaredError).

Every reconstruction loss returns one value per example, [B] float32, in nats for
bernoulli_loss and squared data units for l2_loss.
"""

from __future__ import annotations

import math

import gin
import tensorflow as tf

RECONSTRUCTION_ACTIVATIONS = ("logits", "tanh", "linear")


def _flatten(x):
  return tf.reshape(x, [tf.shape(x)[0], -1])


def _check_activation(loss_name, activation, allowed):
  if activation not in allowed:
    raise ValueError(
        f"reconstruction_loss.activation={activation!r} is not supported by {loss_name}; "
        f"use one of {', '.join(repr(a) for a in allowed)}.")


@gin.configurable("bernoulli_loss", allowlist=["subtract_true_image_entropy"])
def bernoulli_loss(true_images, reconstructed_images, activation,
                   subtract_true_image_entropy=False):
  """Per-example Bernoulli negative log-likelihood, summed over pixels.

  Parameters
  ----------
  true_images : Tensor of shape (B, ...)
      float32 in [0, 1].
  reconstructed_images : Tensor of shape (B, ...)
      Decoder output (logits for activation 'logits', pre-tanh values for 'tanh').
  activation : {'logits', 'tanh'}
  subtract_true_image_entropy : bool
      Subtract the entropy of Bernoulli(true pixel), the loss's lower bound for non-binary
      images (pixels clipped to [1e-6, 1 - 1e-6]).

  Returns
  -------
  Tensor of shape (B,)
      float32, nats.
  """
  _check_activation("bernoulli_loss", activation, ("logits", "tanh"))
  labels = _flatten(true_images)
  outputs = _flatten(reconstructed_images)
  if activation == "logits":
    loss = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=outputs), axis=1)
  else:
    probs = tf.clip_by_value(tf.nn.tanh(outputs) / 2 + 0.5, 1e-6, 1 - 1e-6)
    loss = -tf.reduce_sum(labels * tf.math.log(probs) + (1 - labels) * tf.math.log(1 - probs),
                          axis=1)
  if subtract_true_image_entropy:
    p = tf.clip_by_value(labels, 1e-6, 1 - 1e-6)
    entropy = -(p * tf.math.log(p) + (1 - p) * tf.math.log(1 - p))
    loss = loss - tf.reduce_sum(entropy, axis=1)
  return loss


@gin.configurable("l2_loss", allowlist=["reduction"])
def l2_loss(true_images, reconstructed_images, activation, reduction="sum"):
  """Per-example squared error between data and the activated decoder output.

  Parameters
  ----------
  true_images : Tensor of shape (B, ...)
      float32.
  reconstructed_images : Tensor of shape (B, ...)
      Decoder output; sigmoid is applied for 'logits', tanh/2 + 1/2 for 'tanh', nothing
      for 'linear'.
  activation : {'logits', 'tanh', 'linear'}
  reduction : {'sum', 'mean'}
      'sum' over data dimensions (dlib) or 'mean'.

  Returns
  -------
  Tensor of shape (B,)
      float32.
  """
  _check_activation("l2_loss", activation, RECONSTRUCTION_ACTIVATIONS)
  if reduction not in ("sum", "mean"):
    raise ValueError(f"l2_loss.reduction must be 'sum' or 'mean', got {reduction!r}.")
  outputs = _flatten(reconstructed_images)
  if activation == "logits":
    outputs = tf.nn.sigmoid(outputs)
  elif activation == "tanh":
    outputs = tf.nn.tanh(outputs) / 2 + 0.5
  squared = tf.square(_flatten(true_images) - outputs)
  return tf.reduce_sum(squared, axis=1) if reduction == "sum" else tf.reduce_mean(squared, axis=1)


@gin.configurable("reconstruction_loss", denylist=["true_images", "reconstructed_images"])
def make_reconstruction_loss(true_images, reconstructed_images, loss_fn=gin.REQUIRED,
                             activation="logits"):
  """Per-example reconstruction loss [B] chosen by gin (`reconstruction_loss.*`)."""
  return loss_fn(true_images, reconstructed_images, activation)


def compute_gaussian_kl(z_mean, z_logvar):
  """Batch mean of KL(N(mean, exp(logvar)) || N(0, I)), summed over latents.

  Parameters
  ----------
  z_mean, z_logvar : Tensor of shape (B, L)
      float32.

  Returns
  -------
  Tensor
      Scalar float32, nats.
  """
  return tf.reduce_mean(
      0.5 * tf.reduce_sum(tf.square(z_mean) + tf.exp(z_logvar) - z_logvar - 1, axis=1))


def gaussian_log_density(samples, mean, log_var):
  """Elementwise log N(samples; mean, exp(log_var)) (broadcasting), nats."""
  log_two_pi = tf.math.log(2.0 * tf.constant(math.pi, dtype=samples.dtype))
  diff = samples - mean
  return -0.5 * (diff * diff * tf.exp(-log_var) + log_var + log_two_pi)


def total_correlation(z, z_mean, z_logvar):
  """Minibatch-weighted estimate of the total correlation of q(z) (beta-TC-VAE).

  E_j[log q(z_j) - sum_l log q(z_jl)] with q(.) estimated by the batch mixture,
  dropping the constant (L - 1) log(B * dataset size), as dlib does.

  Parameters
  ----------
  z : Tensor of shape (B, L)
      Sampled latents.
  z_mean, z_logvar : Tensor of shape (B, L)

  Returns
  -------
  Tensor
      Scalar float32, nats.
  """
  # log q(z_j,l | x_i), indexed [j, i, l].
  log_qz_prob = gaussian_log_density(z[:, None, :], z_mean[None, :, :], z_logvar[None, :, :])
  log_qz_product = tf.reduce_sum(tf.reduce_logsumexp(log_qz_prob, axis=1), axis=1)
  log_qz = tf.reduce_logsumexp(tf.reduce_sum(log_qz_prob, axis=2), axis=1)
  return tf.reduce_mean(log_qz - log_qz_product)


def covariance_of_mean(z_mean):
  """[L, L] biased covariance E[mu mu^T] - E[mu] E[mu]^T of z_mean [B, L]."""
  second_moment = tf.reduce_mean(z_mean[:, :, None] * z_mean[:, None, :], axis=0)
  first_moment = tf.reduce_mean(z_mean, axis=0)
  return second_moment - first_moment[:, None] * first_moment[None, :]


def dip_regularizer(covariance, lambda_od, lambda_d):
  """lambda_od * sum(offdiag^2) + lambda_d * sum((diag - 1)^2) of a [L, L] matrix."""
  diagonal = tf.linalg.diag_part(covariance)
  off_diagonal = covariance - tf.linalg.diag(diagonal)
  return (lambda_od * tf.reduce_sum(tf.square(off_diagonal))
          + lambda_d * tf.reduce_sum(tf.square(diagonal - 1)))


def anneal(c_max, step, iteration_threshold):
  """Capacity min(c_max, c_max * step / iteration_threshold), linear annealing."""
  step = tf.cast(step, tf.float32)
  return tf.minimum(c_max * 1.0, c_max * 1.0 * step / iteration_threshold)
