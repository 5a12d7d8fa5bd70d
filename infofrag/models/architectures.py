"""Encoder, decoder and discriminator networks with disentanglement_lib's names and shapes.

gin names as in dlib's `methods/shared/architectures.py`: `encoder.num_latent`,
`encoder.encoder_fn = @conv_encoder | @fc_encoder | @mlp_encoder`,
`decoder.decoder_fn = @deconv_decoder | @fc_decoder | @mlp_decoder`,
`discriminator.discriminator_fn = @fc_discriminator`. `mlp_encoder` / `mlp_decoder`
(vector data such as `circle`) take `hidden_units` and `activation`.

Networks are built eagerly from static shapes (TF2) instead of TF1 graph functions;
each is a `tf.Module` whose `__call__` maps a batch to outputs:
  encoders:       x [B, *observation_shape] -> (mean, logvar) [B, num_latent] each
  decoders:       z [B, num_latent] -> [B, *observation_shape] (logits / raw output)
  discriminator:  z [B, num_latent] -> (logits [B, 2], probs [B, 2] clipped to [1e-6, 1-1e-6])
"""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf

from infofrag.models import layers
from infofrag.utils import checks


class ArchitectureError(ValueError):
  """The observation shape or latent size does not fit the chosen architecture."""


def _check_image_shape(name, shape, fixed_size=None):
  shape = list(shape)
  ok = len(shape) == 3 and shape[0] % 16 == 0 and shape[1] % 16 == 0
  if fixed_size is not None:
    ok = ok and shape[:2] == [fixed_size, fixed_size]
  if not ok:
    need = (f"images of shape [{fixed_size}, {fixed_size}, C]" if fixed_size
            else "images of shape [H, W, C] with H and W multiples of 16")
    raise ArchitectureError(
        f"{name} needs {need}, but the dataset's observations have shape {shape}. "
        "For vector data use encoder.encoder_fn = @mlp_encoder and "
        "decoder.decoder_fn = @mlp_decoder.")


@gin.configurable("conv_encoder", allowlist=[])
class ConvEncoder(tf.Module):
  """dlib's conv_encoder: 4 ReLU convs (32,32,64,64 filters; kernels 4,4,2,2; stride 2),
  a 256-unit ReLU dense layer, then linear `means` and `log_var` heads."""

  def __init__(self, input_shape, num_latent, seeds):
    super().__init__(name="conv_encoder")
    _check_image_shape("conv_encoder", input_shape)
    height, width, channels = input_shape
    self.e1 = layers.Conv2D(channels, 32, 4, 2, "relu", seeds, name="e1")
    self.e2 = layers.Conv2D(32, 32, 4, 2, "relu", seeds, name="e2")
    self.e3 = layers.Conv2D(32, 64, 2, 2, "relu", seeds, name="e3")
    self.e4 = layers.Conv2D(64, 64, 2, 2, "relu", seeds, name="e4")
    flat = (height // 16) * (width // 16) * 64
    self.e5 = layers.Dense(flat, 256, "relu", seeds, name="e5")
    self.means = layers.Dense(256, num_latent, None, seeds, name="means")
    self.log_var = layers.Dense(256, num_latent, None, seeds, name="log_var")

  def __call__(self, x):
    h = self.e4(self.e3(self.e2(self.e1(x))))
    h = self.e5(layers.flatten(h))
    return self.means(h), self.log_var(h)


@gin.configurable("fc_encoder", allowlist=[])
class FcEncoder(tf.Module):
  """dlib's fc_encoder: flatten, two 1200-unit ReLU layers, linear mean / log-variance heads."""

  def __init__(self, input_shape, num_latent, seeds):
    super().__init__(name="fc_encoder")
    flat = int(np.prod(input_shape))
    self.e1 = layers.Dense(flat, 1200, "relu", seeds, name="e1")
    self.e2 = layers.Dense(1200, 1200, "relu", seeds, name="e2")
    self.means = layers.Dense(1200, num_latent, None, seeds, name="means")
    self.log_var = layers.Dense(1200, num_latent, None, seeds, name="log_var")

  def __call__(self, x):
    h = self.e2(self.e1(layers.flatten(x)))
    return self.means(h), self.log_var(h)


@gin.configurable("deconv_decoder", allowlist=[])
class DeconvDecoder(tf.Module):
  """dlib's deconv_decoder: dense 256 and 1024 (ReLU), reshape [4, 4, 64], transposed
  convs (64, 32, 32 filters ReLU, then C linear), kernel 4, stride 2 -> [64, 64, C].

  Other image sizes (multiples of 16) start from [H/16, W/16, 64] instead of [4, 4, 64];
  at 64x64 the network is exactly dlib's."""

  def __init__(self, num_latent, output_shape, seeds):
    super().__init__(name="deconv_decoder")
    _check_image_shape("deconv_decoder", output_shape)
    self.output_shape = list(output_shape)
    self.start_shape = [output_shape[0] // 16, output_shape[1] // 16, 64]
    self.d1 = layers.Dense(num_latent, 256, "relu", seeds, name="d1")
    self.d2 = layers.Dense(256, int(np.prod(self.start_shape)), "relu", seeds, name="d2")
    self.d3 = layers.Conv2DTranspose(64, 64, 4, 2, "relu", seeds, name="d3")
    self.d4 = layers.Conv2DTranspose(64, 32, 4, 2, "relu", seeds, name="d4")
    self.d5 = layers.Conv2DTranspose(32, 32, 4, 2, "relu", seeds, name="d5")
    self.d6 = layers.Conv2DTranspose(32, output_shape[2], 4, 2, None, seeds, name="d6")

  def __call__(self, z):
    h = tf.reshape(self.d2(self.d1(z)), [-1] + self.start_shape)
    return self.d6(self.d5(self.d4(self.d3(h))))


@gin.configurable("fc_decoder", allowlist=[])
class FcDecoder(tf.Module):
  """dlib's fc_decoder: three 1200-unit tanh layers, linear output reshaped to the data shape."""

  def __init__(self, num_latent, output_shape, seeds):
    super().__init__(name="fc_decoder")
    self.output_shape = list(output_shape)
    self.d1 = layers.Dense(num_latent, 1200, "tanh", seeds, name="d1")
    self.d2 = layers.Dense(1200, 1200, "tanh", seeds, name="d2")
    self.d3 = layers.Dense(1200, 1200, "tanh", seeds, name="d3")
    self.d4 = layers.Dense(1200, int(np.prod(output_shape)), None, seeds, name="d4")

  def __call__(self, z):
    return tf.reshape(self.d4(self.d3(self.d2(self.d1(z)))), [-1] + self.output_shape)


def _check_hidden_units(name, hidden_units):
  units = tuple(hidden_units)
  if not units or any(int(u) < 1 for u in units):
    raise ArchitectureError(f"{name}.hidden_units must be a non-empty list of positive "
                            f"integers, got {hidden_units!r}.")
  return tuple(int(u) for u in units)


@gin.configurable("mlp_encoder", allowlist=["hidden_units", "activation"])
class MlpEncoder(tf.Module):
  """MLP for vector data (the paper's circle model): flatten, hidden layers, linear heads."""

  def __init__(self, input_shape, num_latent, seeds, hidden_units=(256, 256),
               activation="tanh"):
    super().__init__(name="mlp_encoder")
    units = (int(np.prod(input_shape)),) + _check_hidden_units("mlp_encoder", hidden_units)
    layers.activation_by_name(activation)  # Validates early with a clear message.
    self.hidden = [layers.Dense(a, b, activation, seeds, name=f"e{i + 1}")
                   for i, (a, b) in enumerate(zip(units[:-1], units[1:]))]
    self.means = layers.Dense(units[-1], num_latent, None, seeds, name="means")
    self.log_var = layers.Dense(units[-1], num_latent, None, seeds, name="log_var")

  def __call__(self, x):
    h = layers.flatten(x)
    for layer in self.hidden:
      h = layer(h)
    return self.means(h), self.log_var(h)


@gin.configurable("mlp_decoder", allowlist=["hidden_units", "activation"])
class MlpDecoder(tf.Module):
  """MLP decoder for vector data: hidden layers, linear output reshaped to the data shape."""

  def __init__(self, num_latent, output_shape, seeds, hidden_units=(256, 256),
               activation="tanh"):
    super().__init__(name="mlp_decoder")
    self.output_shape = list(output_shape)
    units = (num_latent,) + _check_hidden_units("mlp_decoder", hidden_units)
    layers.activation_by_name(activation)
    self.hidden = [layers.Dense(a, b, activation, seeds, name=f"d{i + 1}")
                   for i, (a, b) in enumerate(zip(units[:-1], units[1:]))]
    self.out = layers.Dense(units[-1], int(np.prod(output_shape)), None, seeds, name="out")

  def __call__(self, z):
    h = z
    for layer in self.hidden:
      h = layer(h)
    return tf.reshape(self.out(h), [-1] + self.output_shape)


@gin.configurable("fc_discriminator", allowlist=[])
class FcDiscriminator(tf.Module):
  """dlib's fc_discriminator: six 1000-unit leaky-ReLU layers, 2 logits, softmax."""

  def __init__(self, num_latent, seeds):
    super().__init__(name="fc_discriminator")
    units = (num_latent,) + (1000,) * 6
    self.hidden = [layers.Dense(a, b, "leaky_relu", seeds, name=f"d{i + 1}")
                   for i, (a, b) in enumerate(zip(units[:-1], units[1:]))]
    self.logits = layers.Dense(1000, 2, None, seeds, name="logits")

  def __call__(self, z):
    h = z
    for layer in self.hidden:
      h = layer(h)
    logits = self.logits(h)
    return logits, tf.nn.softmax(logits)


@gin.configurable("encoder", allowlist=["num_latent", "encoder_fn"])
def make_gaussian_encoder(input_shape, seeds, num_latent=gin.REQUIRED,
                          encoder_fn=gin.REQUIRED):
  """Builds the configured encoder for observations of `input_shape` (gin: `encoder.*`)."""
  num_latent = checks.check_positive_int(num_latent, name="encoder.num_latent",
                                         error=ArchitectureError)
  return encoder_fn(input_shape=list(input_shape), num_latent=num_latent, seeds=seeds)


@gin.configurable("decoder", allowlist=["decoder_fn"])
def make_decoder(num_latent, output_shape, seeds, decoder_fn=gin.REQUIRED):
  """Builds the configured decoder producing `output_shape` (gin: `decoder.decoder_fn`)."""
  return decoder_fn(num_latent=int(num_latent), output_shape=list(output_shape), seeds=seeds)


class ClippedDiscriminator(tf.Module):
  """Wraps a discriminator so that probabilities are clipped to [1e-6, 1 - 1e-6] (dlib)."""

  def __init__(self, network):
    super().__init__(name="discriminator")
    self.network = network

  def __call__(self, z):
    logits, probs = self.network(z)
    return logits, tf.clip_by_value(probs, 1e-6, 1 - 1e-6)


@gin.configurable("discriminator", allowlist=["discriminator_fn"])
def make_discriminator(num_latent, seeds, discriminator_fn=gin.REQUIRED):
  """Builds the configured discriminator (gin: `discriminator.discriminator_fn`)."""
  return ClippedDiscriminator(discriminator_fn(num_latent=int(num_latent), seeds=seeds))
