"""The representations dlib extracts from a Gaussian encoder, as gin configurables.

Each configurable has dlib's signature ``f(ground_truth_data, gaussian_encoder,
random_state, save_path) -> (transform, checkpoint_path)`` and dlib's gin name
(``postprocess.postprocess_fn = @mean_representation`` or ``@sampled_representation``).
The transform is a `tf.Module` called as ``transform(mean=..., logvar=...)`` on [B,
num_latent] tensors; whatever variables it holds are saved with the representation (the
TF2 form of dlib's transform checkpoint), so ``checkpoint_path`` is always None here.

- mean: codes = mean.
- sampled: codes = mean + exp(logvar / 2) * eps, eps ~ N(0, 1) drawn by a Philox
  `tf.random.Generator` saved inside the representation and seeded from `random_state`
  (``postprocess.random_seed``). Each load of the saved representation starts from the
  same generator state, so the same calls give the same codes (dlib's TF1 transform used
  an unseeded op, so its draws differed from run to run).
"""

from __future__ import annotations

from typing import Any

import gin
import numpy as np
import tensorflow as tf


class MeanTransform(tf.Module):
  """codes = mean (the posterior mean)."""

  method = "mean"

  def __call__(self, mean: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    """[B, num_latent] posterior parameters -> [B, num_latent] codes."""
    del logvar
    return tf.identity(mean)


class SampledTransform(tf.Module):
  """codes = mean + exp(logvar / 2) * eps with eps from a seeded, saved generator.

  Parameters
  ----------
  seed : int
      Seed of the Philox generator (a non-negative integer below 2**63).
  """

  method = "sampled"

  def __init__(self, seed: int) -> None:
    super().__init__(name="sampled_representation")
    self.seed = int(seed)
    self.generator = tf.random.Generator.from_seed(self.seed)

  def __call__(self, mean: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    """[B, num_latent] posterior parameters -> [B, num_latent] sampled codes."""
    noise = self.generator.normal(tf.shape(mean), dtype=mean.dtype)
    return mean + tf.exp(logvar / 2.0) * noise


@gin.configurable("mean_representation",
                  denylist=["ground_truth_data", "gaussian_encoder", "random_state"])
def mean_representation(ground_truth_data: Any, gaussian_encoder: Any,
                        random_state: np.random.RandomState, save_path: str
                        ) -> tuple[MeanTransform, str | None]:
  """dlib's mean representation: the transform returns the encoder's mean.

  Returns
  -------
  (MeanTransform, None)
  """
  del ground_truth_data, gaussian_encoder, random_state, save_path
  return MeanTransform(), None


@gin.configurable("sampled_representation",
                  denylist=["ground_truth_data", "gaussian_encoder", "random_state"])
def sampled_representation(ground_truth_data: Any, gaussian_encoder: Any,
                           random_state: np.random.RandomState, save_path: str
                           ) -> tuple[SampledTransform, str | None]:
  """dlib's sampled representation, with a generator seeded from `random_state`.

  Returns
  -------
  (SampledTransform, None)
  """
  del ground_truth_data, gaussian_encoder, save_path
  return SampledTransform(int(random_state.randint(2**32))), None
