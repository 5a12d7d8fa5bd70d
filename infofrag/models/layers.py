"""Minimal dense / convolution layers as plain `tf.Module`s with seeded initialisers.

Plain modules (no Keras) keep the exported SavedModel free of any Keras or infofrag
objects, and stateless seeded initialisers make the initial weights a pure function
of (seed, layer index), which is what bit-identical re-runs need.

Initialisers match TF1 `tf.layers` defaults used by disentanglement_lib: Glorot
uniform kernels and zero biases.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

_ACTIVATIONS = {
    "relu": tf.nn.relu,
    "tanh": tf.nn.tanh,
    "leaky_relu": tf.nn.leaky_relu,  # TF's default slope 0.2, as dlib's discriminator
    "sigmoid": tf.nn.sigmoid,
    "elu": tf.nn.elu,
    "softplus": tf.nn.softplus,
    "swish": tf.nn.silu,
    "linear": None,
    None: None,
}


def activation_by_name(name):
  """Activation function for a name (relu, tanh, leaky_relu, ...); None = identity."""
  if name not in _ACTIVATIONS:
    valid = ", ".join(sorted(k for k in _ACTIVATIONS if k))
    raise ValueError(f"Unknown activation {name!r}; valid names: {valid}.")
  return _ACTIVATIONS[name]


class SeedStream:
  """Hands out distinct stateless seeds [2] int64 derived from one base seed.

  Layer k of a model gets seed (base_seed, k), so initial weights depend only on
  the base seed and the order in which layers are created.
  """

  def __init__(self, base_seed):
    self.base_seed = int(base_seed) % (2**31 - 1)
    self.count = 0

  def next(self):
    self.count += 1
    return tf.constant([self.base_seed, self.count], dtype=tf.int64)


def glorot_uniform(shape, fan_in, fan_out, seed):
  """[*shape] float32 uniform in +-sqrt(6 / (fan_in + fan_out))."""
  limit = math.sqrt(6.0 / float(fan_in + fan_out))
  return tf.random.stateless_uniform(shape, seed=seed, minval=-limit, maxval=limit,
                                     dtype=tf.float32)


class Dense(tf.Module):
  """y = activation(x @ W + b); x [B, in_units] -> [B, units]."""

  def __init__(self, in_units, units, activation=None, seeds=None, name=None):
    super().__init__(name=name)
    self.activation = activation_by_name(activation)
    self.kernel = tf.Variable(glorot_uniform([in_units, units], in_units, units, seeds.next()),
                              name="kernel")
    self.bias = tf.Variable(tf.zeros([units]), name="bias")

  def __call__(self, x):
    y = tf.matmul(x, self.kernel) + self.bias
    return self.activation(y) if self.activation else y


class _Convolution(tf.Module):
  """Kernel [kh, kw, a, b] (Glorot uniform over the receptive field), bias [filters]."""

  def __init__(self, in_channels, filters, kernel_size, strides, activation, seeds, name,
               transposed):
    super().__init__(name=name)
    self.strides = strides
    self.filters = filters
    self.activation = activation_by_name(activation)
    receptive = kernel_size * kernel_size
    # Transposed kernels are stored [kh, kw, out, in]; Glorot's limit is symmetric.
    channels = [filters, in_channels] if transposed else [in_channels, filters]
    self.kernel = tf.Variable(
        glorot_uniform([kernel_size, kernel_size] + channels, receptive * in_channels,
                       receptive * filters, seeds.next()), name="kernel")
    self.bias = tf.Variable(tf.zeros([filters]), name="bias")


class Conv2D(_Convolution):
  """'same'-padded strided convolution; x [B, H, W, C] -> [B, H/s, W/s, filters]."""

  def __init__(self, in_channels, filters, kernel_size, strides, activation=None,
               seeds=None, name=None):
    super().__init__(in_channels, filters, kernel_size, strides, activation, seeds, name,
                     transposed=False)

  def __call__(self, x):
    y = tf.nn.conv2d(x, self.kernel, strides=self.strides, padding="SAME") + self.bias
    return self.activation(y) if self.activation else y


class Conv2DTranspose(_Convolution):
  """'same'-padded transposed convolution; x [B, H, W, C] -> [B, H*s, W*s, filters]."""

  def __init__(self, in_channels, filters, kernel_size, strides, activation=None,
               seeds=None, name=None):
    super().__init__(in_channels, filters, kernel_size, strides, activation, seeds, name,
                     transposed=True)

  def __call__(self, x):
    shape = tf.shape(x)
    out_shape = tf.stack([shape[0], shape[1] * self.strides, shape[2] * self.strides,
                          self.filters])
    y = tf.nn.conv2d_transpose(x, self.kernel, out_shape, strides=self.strides,
                               padding="SAME") + self.bias
    return self.activation(y) if self.activation else y


def flatten(x):
  """[B, ...] -> [B, prod(...)]."""
  return tf.reshape(x, [tf.shape(x)[0], int(np.prod(x.shape[1:]))])
