"""Representation functions of a loaded model (dlib's postprocess methods).

`mean`: the posterior mean. `sampled`: one sample z = mean + exp(logvar / 2) * eps per
input, with eps from a numpy RandomState so runs are reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from infofrag.metrics import udr

POSTPROCESS_METHODS = ("mean", "sampled")


def make_representation_function(model: Any, representation: str = "mean", random_seed: int = 0,
                                  batch_size: int = 64) -> Callable[[np.ndarray], np.ndarray]:
  """dlib's representation function of a model.

  Parameters
  ----------
  model : LoadedModel
      An `infofrag.zoo.saved_model.LoadedModel` (or anything with ``encode``).
  representation : {"mean", "sampled"}
  random_seed : int
      Seed of the noise of "sampled".
  batch_size : int
      Encoder batch size.

  Returns
  -------
  callable
      f(observations of shape (b, ...)) -> codes, ndarray of shape (b, num_latent), float64.
  """
  if representation not in POSTPROCESS_METHODS:
    raise ValueError(f"--representation={representation!r}: must be one of "
                     f"{', '.join(POSTPROCESS_METHODS)}.")
  if representation == "mean":
    def mean_representation(observations):
      return np.asarray(model.encode(observations, batch_size)[0], dtype=np.float64)
    return mean_representation
  noise = np.random.RandomState(random_seed)

  def sampled_representation(observations):
    mean, logvar = model.encode(observations, batch_size)
    eps = noise.standard_normal(mean.shape)
    return mean.astype(np.float64) + np.exp(logvar.astype(np.float64) / 2.0) * eps
  return sampled_representation


def make_udr_representation_function(model: Any, batch_size: int = 64
                                      ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
  """dlib's UDR representation function of a model (`udr/evaluate.py`).

  Parameters
  ----------
  model : LoadedModel
      Anything with ``encode(observations, batch_size) -> (mean, logvar)``.
  batch_size : int
      Encoder batch size.

  Returns
  -------
  callable
      f(observations of shape (b, ...)) -> (posterior means (b, num_latent), mean KL to the
      prior per latent over the batch (num_latent,)), in the encoder's dtype (float32), as
      dlib computes them from its TF Hub module.
  """
  return udr.kl_representation_function(lambda observations: model.encode(observations,
                                                                          batch_size))
