"""Recipe: a JAX/Flax encoder's posteriors as an embedding bundle (mean and sigma).

    python jax_encoder.py points.npz zoo/

Many JAX models (latent_quantization's InfoMEC code among them) give a mean and a standard
deviation: declare "sigma" and infofrag converts it. Replace `Encoder` and its
parameters with your trained model.
"""

import json
import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class Encoder(nn.Module):
  num_latent: int = 10

  @nn.compact
  def __call__(self, images):  # (n, 64, 64, 1) NHWC in [0, 1], Flax's native layout
    h = images.reshape((images.shape[0], -1))
    h = nn.relu(nn.Dense(256)(h))
    h = nn.relu(nn.Dense(256)(h))
    return nn.Dense(self.num_latent)(h), nn.softplus(nn.Dense(self.num_latent)(h)) + 1e-3


def main(points_path, zoo):
  points = np.load(points_path)
  encoder = Encoder()
  params = encoder.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 1)))  # your trained params
  mean, sigma = jax.jit(encoder.apply)(params, jnp.asarray(points["observations"]))
  folder = os.path.join(zoo, "jax_bundle")
  os.makedirs(folder, exist_ok=True)
  np.savez(os.path.join(folder, "embeddings.npz"), mean=np.asarray(mean),
           spread=np.asarray(sigma), indices=points["indices"],
           metadata=json.dumps({"format": "infofrag-embeddings-v1",
                                "dataset": "synthetic_dsprites", "convention": "sigma",
                                "method": "beta_vae", "hyperparameters": {"beta": 4.0},
                                "seed": 3, "framework": f"jax {jax.__version__} / flax"}))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
