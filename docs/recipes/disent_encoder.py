"""Recipe: a disent-style encoder (one output, [mean, log-variance] concatenated) as ONNX.

    python disent_encoder.py zoo/

disent's Gaussian encoders return z_params of size 2 * z_size: the first half the means,
the second the log-variances. infofrag splits it when encoder.json says "concatenated".
With disent installed, export your trained `model._model._encoder` the same way.
"""

import json
import os
import sys

import torch


class DisentStyleEncoder(torch.nn.Module):
  """disent's EncoderConv64 shape: images (n, 1, 64, 64) -> z_params (n, 2 * z_size)."""

  def __init__(self, z_size=10):
    super().__init__()
    self.model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 4, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 4, 2, 1),
        torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 4, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 4, 2, 1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(1024, 256), torch.nn.ReLU(), torch.nn.Linear(256, 2 * z_size))

  def forward(self, x):
    return self.model(x)


def main(zoo):
  torch.manual_seed(1)
  encoder = DisentStyleEncoder().eval()  # your trained disent encoder here
  folder = os.path.join(zoo, "disent_onnx")
  os.makedirs(folder, exist_ok=True)
  torch.onnx.export(encoder, (torch.zeros(2, 1, 64, 64),), os.path.join(folder, "encoder.onnx"),
                    input_names=["x"], output_names=["z_params"],
                    dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, external_data=False)
  with open(os.path.join(folder, "encoder.json"), "w") as f:
    json.dump({"format": "infofrag-encoder-v1", "dataset": "synthetic_dsprites",
               "input": {"layout": "NCHW", "range": [0, 1]},
               "outputs": {"concatenated": "z_params", "convention": "logvar"},
               "method": "beta_vae", "hyperparameters": {"beta": 4.0}, "seed": 2,
               "framework": f"pytorch {torch.__version__} (disent-style)"}, f)


if __name__ == "__main__":
  main(sys.argv[1])
