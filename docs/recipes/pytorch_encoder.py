"""Recipe: a PyTorch encoder into infofrag, as an ONNX file and as an embedding bundle.

    python pytorch_encoder.py points.npz zoo/

`points.npz` comes from `infofrag_sample`. Writes zoo/torch_onnx/{encoder.onnx,
encoder.json} (the encoder itself: every metric can draw its own points) and
zoo/torch_bundle/embeddings.npz (its posteriors on the points: a few kilobytes to share).
Replace `Encoder` and its weights with your trained model; keep its output convention
right in the metadata.
"""

import json
import os
import sys

import numpy as np
import torch


class Encoder(torch.nn.Module):
  """dlib's conv encoder on 64x64x1 images: (mean, log-variance) of 10 latents."""

  def __init__(self, num_latent=10):
    super().__init__()
    self.features = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 4, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 4, 2, 1),
        torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 2, 2), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 2, 2), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(64 * 4 * 4, 256), torch.nn.ReLU())
    self.mean = torch.nn.Linear(256, num_latent)
    self.logvar = torch.nn.Linear(256, num_latent)

  def forward(self, images):  # images: (n, 1, 64, 64) in [0, 1]
    h = self.features(images)
    return self.mean(h), self.logvar(h)


def main(points_path, zoo):
  torch.manual_seed(0)
  encoder = Encoder().eval()  # your trained model here
  metadata = {"dataset": "synthetic_dsprites", "method": "beta_vae",
              "hyperparameters": {"beta": 4.0}, "seed": 0,
              "framework": f"pytorch {torch.__version__}"}

  # 1. The encoder as ONNX (PyTorch's own exporter; any batch size).
  os.makedirs(os.path.join(zoo, "torch_onnx"), exist_ok=True)
  torch.onnx.export(encoder, (torch.zeros(2, 1, 64, 64),),
                    os.path.join(zoo, "torch_onnx", "encoder.onnx"),
                    input_names=["images"], output_names=["mean", "logvar"],
                    dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
                    external_data=False)
  with open(os.path.join(zoo, "torch_onnx", "encoder.json"), "w") as f:
    json.dump({"format": "infofrag-encoder-v1", **metadata,
               "input": {"layout": "NCHW", "range": [0, 1]},
               "outputs": {"mean": "mean", "spread": "logvar", "convention": "logvar"}}, f)

  # 2. Its posteriors on infofrag's points as a bundle (numpy only).
  points = np.load(points_path)
  images = torch.from_numpy(points["observations"]).permute(0, 3, 1, 2)  # NHWC -> NCHW
  with torch.no_grad():
    mean, logvar = encoder(images)
  os.makedirs(os.path.join(zoo, "torch_bundle"), exist_ok=True)
  np.savez(os.path.join(zoo, "torch_bundle", "embeddings.npz"), mean=mean.numpy(),
           spread=logvar.numpy(), indices=points["indices"],
           metadata=json.dumps({"format": "infofrag-embeddings-v1", **metadata,
                                "seed": 1, "convention": "logvar"}))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
