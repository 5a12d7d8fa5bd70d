"""dlib's visualize_model: reconstructions, samples, latent traversals and animations.

  visualize(MODEL, OUTPUT)

reads the model folder MODEL (dlib's: ``MODEL/tfhub``, ``MODEL/results``; infofrag's model
directory D is accepted for ``D/model``) and writes dlib's files:

  OUTPUT/reconstructions/reconstructions.jpg   64 dataset images, each beside its
                                               reconstruction (decoded posterior sample)
  OUTPUT/sampled/samples.jpg                   64 decodings of codes drawn from N(0, I)
  OUTPUT/traversals/traversals<i>.jpg          for i < num_latent: the mean code of the
                                               i-th sampled image, each latent (column)
                                               set to num_latent values in [-1, 1] (rows)
  OUTPUT/animated_traversals/<kind><i>.gif     for the first num_animations mean codes:
                                               every latent cycled in turn (one panel per
                                               latent, num_frames frames at fps), kinds
                                               std_gaussian_cycle (quantiles of N(0, 1)),
                                               fitted_gaussian_cycle (of N(mean, total
                                               variance) of the channel over the 64 images),
                                               fixed_interval_cycle ([-2, 2]),
                                               conf_interval_cycle (mean +- 2 std),
                                               minmax_interval_cycle (min to max of the means)

Images go through the model's ``decoder`` signature (`LoadedModel.decode_images`: the
sigmoid of Bernoulli logits, or tanh rescaled). Draws come from
``np.random.RandomState(0)`` in dlib's order; the reconstructions' posterior noise comes
from ``RandomState(1)``, so the pictures are the same on every run (dlib's own
reconstructions used an unseeded op). dlib's footer logo under each animation frame is
not drawn. OUTPUT appears only when complete and must not exist unless ``overwrite``.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from infofrag.data import named_data
from infofrag.utils import step_folders as folders
from infofrag.visualize import images as images_lib
from infofrag.zoo import saved_model

NUM_PICS = 64
ANIMATION_KINDS = ("std_gaussian_cycle", "fitted_gaussian_cycle", "fixed_interval_cycle",
                   "conf_interval_cycle", "minmax_interval_cycle")


class VisualizationError(folders.WorkflowError):
  """A visualization request that cannot run (one line naming the flag or file)."""


def _load(folder: str, dataset_name: str | None):
  """(model, dataset) of a model folder; the dataset is the training one unless named."""
  results = os.path.join(folder, "results")
  bindings = folders.step_gin_bindings(results, "train", flag="--model_dir")
  name = dataset_name or folders.recorded_dataset(results, "train", flag="--model_dir")
  try:
    dataset = named_data.get_named_ground_truth_data(name)
  except ValueError as error:
    raise VisualizationError(str(error)) from None
  if len(dataset.observation_shape) != 3:
    raise VisualizationError(f"dataset {name} has observations of shape "
                             f"{list(dataset.observation_shape)}, not images [H, W, C]; "
                             "visualize_model draws image models only.")
  try:
    model = saved_model.LoadedModel(folder, tfhub_dir=os.path.join(folder, "tfhub"))
    model.check_observation_shape(dataset.observation_shape)
  except saved_model.ModelLoadError as error:
    raise VisualizationError(f"--model_dir: {error}") from None
  activation = str(bindings.get("reconstruction_loss.activation", "")).strip("'\"")
  if model.format == "tf1_hub" and activation in ("logits", "tanh"):
    model.decoder_output = activation  # dlib's modules do not record it themselves
  return model, dataset


def traversal_grid(decode: Callable[[np.ndarray], np.ndarray], code: np.ndarray,
                   values: np.ndarray) -> np.ndarray:
  """One image: column j decodes `code` with latent j set to each of `values` (rows).

  Parameters
  ----------
  decode : callable, [N, L] codes -> [N, H, W, C] images in [0, 1]
  code : [L] array
  values : [V] array

  Returns
  -------
  [V * H, L * W, C] array.
  """
  latents = len(code)
  codes = np.tile(code, (latents * len(values), 1))
  for j in range(latents):
    codes[j * len(values):(j + 1) * len(values), j] = values
  pictures = decode(codes)
  columns = [np.concatenate(list(pictures[j * len(values):(j + 1) * len(values)]), axis=0)
             for j in range(latents)]
  return np.concatenate(columns, axis=1)


def _cycles(kind: str, start: float, num_frames: int, means: np.ndarray,
            logvars: np.ndarray, j: int) -> np.ndarray:
  """[num_frames] values of latent j for one animation kind (see the module docstring)."""
  loc = float(np.mean(means[:, j]))
  scale = float(np.sqrt(np.mean(np.exp(logvars[:, j])) + np.var(means[:, j])))
  if kind == "std_gaussian_cycle":
    return images_lib.cycle_gaussian(start, num_frames)
  if kind == "fitted_gaussian_cycle":
    return images_lib.cycle_gaussian(start, num_frames, loc=loc, scale=scale)
  if kind == "fixed_interval_cycle":
    return images_lib.cycle_interval(start, num_frames, -2.0, 2.0)
  if kind == "conf_interval_cycle":
    return images_lib.cycle_interval(start, num_frames, loc - 2.0 * scale, loc + 2.0 * scale)
  return images_lib.cycle_interval(start, num_frames, float(np.min(means[:, j])),
                                   float(np.max(means[:, j])))


def animation_panels(decode: Callable[[np.ndarray], np.ndarray], code: np.ndarray, kind: str,
                     num_frames: int, means: np.ndarray, logvars: np.ndarray) -> np.ndarray:
  """[L, num_frames, H, W, C]: for each latent j, `code` with latent j cycled."""
  latents = len(code)
  codes = np.tile(code, (latents * num_frames, 1))
  for j in range(latents):
    codes[j * num_frames:(j + 1) * num_frames, j] = _cycles(kind, code[j], num_frames, means,
                                                           logvars, j)
  pictures = decode(codes)
  return pictures.reshape((latents, num_frames) + pictures.shape[1:])


def visualize(model_dir: str, output_dir: str, *, overwrite: bool = False,
              num_animations: int = 5, num_frames: int = 20, fps: float = 10,
              dataset_name: str | None = None) -> list[str]:
  """Writes dlib's visualizations of a model (see the module docstring).

  Parameters
  ----------
  model_dir : str
      The model folder (``tfhub/``, ``results/``) or infofrag's model directory.
  output_dir : str
      The visualizations folder.
  overwrite : bool
      Replace an existing `output_dir` (once the new one is complete).
  num_animations, num_frames, fps : int, int, float
      dlib's defaults 5, 20, 10.
  dataset_name : str or None
      The dataset to draw images from; None: the training dataset (dlib's rule).

  Returns
  -------
  list of str, the written files relative to `output_dir`, sorted.

  Raises
  ------
  VisualizationError
      Bad flags or files (one line).
  """
  for flag, value in (("num_animations", num_animations), ("num_frames", num_frames)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise VisualizationError(f"--{flag} must be a positive integer, got {value!r}.")
  if not fps > 0:
    raise VisualizationError(f"--fps must be positive, got {fps!r}.")
  folder = folders.model_folder(model_dir)
  folders.check_output_dir(output_dir, overwrite=overwrite)
  model, dataset = _load(folder, dataset_name)
  random_state = np.random.RandomState(0)
  decode = model.decode_images
  with folders.staged_output(output_dir, overwrite=overwrite) as staging:
    real = dataset.sample_observations(NUM_PICS, random_state)
    mean, logvar = model.encode(real)
    noise = np.random.RandomState(1).standard_normal(mean.shape)
    reconstructed = decode(mean + np.exp(logvar / 2.0) * noise)
    pairs = list(np.concatenate([real, reconstructed], axis=2))
    images_lib.save_image(images_lib.square_grid(pairs),
                          os.path.join(staging, "reconstructions", "reconstructions.jpg"))
    codes = random_state.normal(0.0, 1.0, [NUM_PICS, model.num_latent])
    images_lib.save_image(images_lib.square_grid(list(decode(codes))),
                          os.path.join(staging, "sampled", "samples.jpg"))
    means, logvars = model.encode(dataset.sample_observations(NUM_PICS, random_state))
    values = np.linspace(-1.0, 1.0, num=model.num_latent)
    for i in range(min(model.num_latent, NUM_PICS)):
      images_lib.save_image(traversal_grid(decode, means[i], values),
                            os.path.join(staging, "traversals", f"traversals{i}.jpg"))
    for kind in ANIMATION_KINDS:
      for i, code in enumerate(means[:num_animations]):
        panels = animation_panels(decode, code, kind, num_frames, means, logvars)
        images_lib.save_animation(panels, os.path.join(staging, "animated_traversals",
                                                       f"{kind}{i}.gif"), fps)
    written = sorted(os.path.relpath(os.path.join(root, name), staging)
                     for root, _, names in os.walk(staging) for name in names)
  return written
