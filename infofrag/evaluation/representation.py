"""Representation functions of a loaded model (dlib's postprocess methods).

`mean`: the posterior mean. `sampled`: one sample z = mean + exp(logvar / 2) * eps per
input, with eps from a numpy RandomState so runs are reproducible.
"""

import numpy as np

POSTPROCESS_METHODS = ("mean", "sampled")


def make_representation_function(model, representation="mean", random_seed=0, batch_size=64):
  """Returns f(observations [B, ...]) -> codes [B, num_latent] float64 for `model`.

  Args:
    model: an `infofrag.zoo.saved_model.LoadedModel` (or anything with `encode`).
    representation: "mean" or "sampled".
    random_seed: seed of the noise of "sampled".
    batch_size: encoder batch size.
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
