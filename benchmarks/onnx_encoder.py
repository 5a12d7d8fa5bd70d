"""The ONNX path against the SavedModel path on the same model: images/s and agreement.

Three steps, two environments (infofrag's, and one with PyTorch, as a user's would be):

    python benchmarks/onnx_encoder.py weights DIR     # infofrag env: train dlib's conv
        # beta-VAE for 2 steps on synthetic_dsprites (10 latents), DIR/model/tfhub, and its
        # encoder's weights as DIR/encoder_weights.npz
    TORCH_PYTHON benchmarks/onnx_encoder.py export DIR  # torch env: the same conv encoder
        # in PyTorch with those weights, exported by torch.onnx.export to
        # DIR-onnx/encoder.onnx (+ encoder.json: NCHW, separate mean / log-variance outputs)
    python benchmarks/onnx_encoder.py measure DIR [--images 2000 --repeats 3]

`measure` encodes the same images with both (`infofrag.zoo.saved_model.load_model`, one
thread each: TF_NUM_INTRAOP_THREADS=1 and onnxruntime's intra_op_num_threads=1) and prints
the best of the repeats in images/s, the ratio, and the largest difference of the means
and log-variances.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

TINY_CONV = ["model.model = @vae()", "vae.beta = 1.", "model.name = 'beta_vae'",
             "dataset.name = 'synthetic_dsprites'", "model.batch_size = 4",
             "model.training_steps = 2", "model.random_seed = 0", "model.eval_steps = 1",
             "encoder.num_latent = 10", "encoder.encoder_fn = @conv_encoder",
             "decoder.decoder_fn = @deconv_decoder", "reconstruction_loss.loss_fn = @bernoulli_loss",
             "vae_optimizer.optimizer_fn = @vae/AdamOptimizer"]
LAYERS = ("e1", "e2", "e3", "e4", "e5", "means", "log_var")


def weights(model_dir: str) -> None:
  import tensorflow as tf
  from infofrag.training import train
  train.train_with_gin(model_dir, gin_bindings=TINY_CONV, overwrite=True,
                       options=train.LoopOptions(progress=False))
  encoder = tf.saved_model.load(os.path.join(model_dir, "model", "tfhub")).encoder
  arrays = {}
  for name in LAYERS:
    layer = getattr(encoder, name)
    arrays[f"{name}_kernel"] = layer.kernel.numpy()
    arrays[f"{name}_bias"] = layer.bias.numpy()
  np.savez(os.path.join(model_dir, "encoder_weights.npz"), **arrays)
  print(f"{model_dir}/model/tfhub and encoder_weights.npz written")


def export(model_dir: str) -> None:
  import torch
  stored = np.load(os.path.join(model_dir, "encoder_weights.npz"))

  class ConvEncoder(torch.nn.Module):
    """dlib's conv_encoder: TF's SAME padding is 1 on each side for the two 4x4 stride-2
    convolutions at 64 and 32 pixels, and 0 for the 2x2 ones."""

    def __init__(self):
      super().__init__()
      convs = [("e1", 1, 32, 4, 1), ("e2", 32, 32, 4, 1), ("e3", 32, 64, 2, 0),
               ("e4", 64, 64, 2, 0)]
      self.convs = torch.nn.ModuleList()
      for name, cin, cout, kernel, pad in convs:
        conv = torch.nn.Conv2d(cin, cout, kernel, stride=2, padding=pad)
        conv.weight.data = torch.from_numpy(stored[f"{name}_kernel"].transpose(3, 2, 0, 1).copy())
        conv.bias.data = torch.from_numpy(stored[f"{name}_bias"])
        self.convs.append(conv)
      self.dense = {}
      for name in ("e5", "means", "log_var"):
        linear = torch.nn.Linear(*stored[f"{name}_kernel"].shape)
        linear.weight.data = torch.from_numpy(stored[f"{name}_kernel"].T.copy())
        linear.bias.data = torch.from_numpy(stored[f"{name}_bias"])
        self.add_module(name, linear)

    def forward(self, images):
      h = images
      for conv in self.convs:
        h = torch.relu(conv(h))
      h = h.permute(0, 2, 3, 1).flatten(1)  # TF flattens NHWC
      h = torch.relu(self.e5(h))
      return self.means(h), self.log_var(h)

  out = model_dir.rstrip("/") + "-onnx"
  os.makedirs(out, exist_ok=True)
  torch.onnx.export(ConvEncoder().eval(), (torch.zeros(2, 1, 64, 64),),
                    os.path.join(out, "encoder.onnx"), input_names=["images"],
                    output_names=["mu", "logvar"],
                    dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
                    external_data=False)
  with open(os.path.join(out, "encoder.json"), "w") as f:
    json.dump({"format": "infofrag-encoder-v1", "dataset": "synthetic_dsprites",
               "input": {"layout": "NCHW", "range": [0, 1]},
               "outputs": {"mean": "mu", "spread": "logvar", "convention": "logvar"},
               "method": "beta_vae", "hyperparameters": {"beta": 1.0}, "seed": 0,
               "framework": f"pytorch {torch.__version__}"}, f)
  print(f"{out}/encoder.onnx written")


def measure(model_dir: str, images: int, repeats: int) -> None:
  os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
  os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
  from infofrag.data import named_data
  from infofrag.zoo import saved_model
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  _, observations = data.sample(images, np.random.RandomState(0))
  observations = np.asarray(observations, np.float32)
  models = {"SavedModel": saved_model.load_model(model_dir),
            "ONNX": saved_model.load_model(model_dir.rstrip("/") + "-onnx")}
  rates, outputs = {}, {}
  for name, model in models.items():
    model.encode(observations[:64])  # warm-up (tracing, session start)
    best = float("inf")
    for _ in range(repeats):
      start = time.perf_counter()
      outputs[name] = model.encode(observations)
      best = min(best, time.perf_counter() - start)
    rates[name] = images / best
  print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {images} images, batch 64, one thread")
  for name, rate in rates.items():
    print(f"{name:>10}: {rate:8.0f} images/s")
  print(f"ONNX / SavedModel: {rates['ONNX'] / rates['SavedModel']:.2f}x")
  for i, part in enumerate(("mean", "logvar")):
    difference = np.max(np.abs(outputs["ONNX"][i] - outputs["SavedModel"][i]))
    print(f"largest |difference| of the {part}: {difference:.2e}")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("step", choices=["weights", "export", "measure"])
  parser.add_argument("model_dir")
  parser.add_argument("--images", type=int, default=2000)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args(argv)
  if args.step == "weights":
    weights(args.model_dir)
  elif args.step == "export":
    export(args.model_dir)
  else:
    measure(args.model_dir, args.images, args.repeats)
  return 0


if __name__ == "__main__":
  sys.exit(main())
