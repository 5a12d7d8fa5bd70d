"""Makes the outside-framework test data of tests/test_any_encoder.py with PyTorch itself.

Run once, in an environment with torch (2.x), numpy and onnx (no infofrag, no TensorFlow):

    infofrag_sample --dataset=synthetic_dsprites --output=points.npz --fingerprint_size=60 \
        --metrics=mig,sap_score,dci --gin_bindings="mig.num_train = 200" \
        --gin_bindings="sap_score.num_train = 200" --gin_bindings="sap_score.num_test = 100" \
        --gin_bindings="dci.num_train = 200" --gin_bindings="dci.num_test = 100"
    python tests/data/external/make_external_models.py points.npz tests/data/external

It writes
- ``linear_disent.onnx``: a disent-style encoder (images NCHW -> one output [mean,
  log-variance] concatenated), exported by `torch.onnx.export`;
- ``linear_bundle.npz``: an embedding bundle of the same encoder's outputs on the points,
  with the spread as a standard deviation (the "sigma" convention).

The encoder is linear, mean = flatten(images) @ W with W = LINEAR_WEIGHTS(seed 0), and a
constant log-variance of -3, so the tests can build the same function as a TF1 Hub module.
"""

import json
import os
import sys

import numpy as np
import torch

PIXELS = 64 * 64
NUM_LATENT = 3
LOGVAR = -3.0


def linear_weights() -> np.ndarray:
  """The encoder's (4096, 3) float32 weights (the tests draw the same)."""
  return np.random.RandomState(0).normal(0, 0.02, size=(PIXELS, NUM_LATENT)).astype(np.float32)


class LinearDisentEncoder(torch.nn.Module):
  """images (n, 1, 64, 64) -> (n, 6) = [mean, log-variance], as disent's encoders return."""

  def __init__(self, weights: np.ndarray) -> None:
    super().__init__()
    self.weights = torch.nn.Parameter(torch.from_numpy(weights), requires_grad=False)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    mean = images.flatten(1) @ self.weights
    return torch.cat([mean, torch.full_like(mean, LOGVAR)], dim=1)


def main(points_path: str, out_dir: str) -> None:
  encoder = LinearDisentEncoder(linear_weights()).eval()
  example = torch.zeros(2, 1, 64, 64)
  onnx_path = os.path.join(out_dir, "linear_disent.onnx")
  # PyTorch's default (torch.export-based) exporter, a batch of any size.
  torch.onnx.export(encoder, (example,), onnx_path, input_names=["images"],
                    output_names=["z_params"],
                    dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
                    external_data=False)
  with np.load(points_path, allow_pickle=False) as points:
    images = torch.from_numpy(points["observations"]).permute(0, 3, 1, 2)  # NHWC -> NCHW
    indices = points["indices"]
  with torch.no_grad():
    mean, logvar = encoder(images).chunk(2, dim=1)
  metadata = {"format": "infofrag-embeddings-v1", "dataset": "synthetic_dsprites",
              "convention": "sigma", "method": "beta_vae", "hyperparameters": {"beta": 2.0},
              "seed": 0, "framework": f"pytorch {torch.__version__}"}
  np.savez(os.path.join(out_dir, "linear_bundle.npz"), mean=mean.numpy(),
           spread=torch.exp(logvar / 2).numpy(), indices=indices,
           metadata=np.array(json.dumps(metadata)))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
