"""Pictures of a ground-truth dataset: random samples and factor traversals (PNG)."""

from __future__ import annotations

import os

import numpy as np

from infofrag.data.ground_truth import ground_truth_data
from infofrag.utils import io


def image_grid(images: np.ndarray, num_columns: int, pad: int = 2,
               pad_value: float = 0.5) -> np.ndarray:
  """Tiles images [K, H, W, C] into one [rows*(H+pad)-pad, cols*(W+pad)-pad, C] array."""
  images = np.asarray(images, dtype=np.float32)
  num, height, width, channels = images.shape
  num_rows = int(np.ceil(num / num_columns))
  grid = np.full((num_rows * (height + pad) - pad, num_columns * (width + pad) - pad, channels),
                 pad_value, dtype=np.float32)
  for index in range(num):
    row, column = divmod(index, num_columns)
    top, left = row * (height + pad), column * (width + pad)
    grid[top:top + height, left:left + width] = images[index]
  return grid


def save_image(path: str, image: np.ndarray) -> str:
  """Writes an [H, W, C] image in [0, 1] (C = 1 or 3) as PNG, atomically."""
  from matplotlib import pyplot as plt
  image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
  if image.shape[-1] == 1:
    image = np.repeat(image, 3, axis=-1)
  with io.atomic_path(path) as tmp:
    plt.imsave(tmp, image, format="png")
  return path


def factor_traversals(data: ground_truth_data.GroundTruthData, factor_index: int,
                      random_state: np.random.RandomState, num_rows: int = 3,
                      max_steps: int = 40) -> tuple[np.ndarray, np.ndarray]:
  """Observations along one factor with the others fixed.

  Returns
  -------
  images : ndarray of shape (num_rows, steps, *observation_shape)
  values : ndarray of shape (steps,)
      The factor values used.
  """
  num_values = data.factors_num_values[factor_index]
  values = np.unique(np.linspace(0, num_values - 1, min(num_values, max_steps)).round().astype(int))
  base = data.sample_factors(num_rows, random_state)
  factors = np.repeat(base[:, None, :], len(values), axis=1)
  factors[:, :, factor_index] = values[None, :]
  flat = factors.reshape(-1, data.num_factors)
  observations = data.sample_observations_from_factors(flat, random_state)
  return observations.reshape((num_rows, len(values)) + tuple(observations.shape[1:])), values


def _factor_name(data, index):
  names = getattr(data, "factor_names", None)
  return names[index] if names else f"factor{index}"


def _save_vector_figure(path, points, colors, title):
  """Scatter plot for vector observations (e.g. `circle`)."""
  from matplotlib import pyplot as plt
  figure, axis = plt.subplots(figsize=(4, 4))
  scatter = axis.scatter(points[:, 0], points[:, 1], c=colors, cmap="twilight", s=12)
  figure.colorbar(scatter, ax=axis, label="factor value")
  axis.set_aspect("equal")
  axis.set_title(title)
  with io.atomic_path(path) as tmp:
    figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
  plt.close(figure)
  return path


def visualize_dataset(data: ground_truth_data.GroundTruthData, output_dir: str,
                      num_samples: int = 64, seed: int = 0) -> list[str]:
  """Writes samples.png and one traversal_<factor>.png per factor into output_dir.

  Image datasets give image grids; vector datasets with 2-D observations give
  scatter plots coloured by factor value. Returns the list of written paths.
  """
  os.makedirs(output_dir, exist_ok=True)
  random_state = np.random.RandomState(seed)
  written = []
  shape = tuple(data.observation_shape)
  if len(shape) == 3:
    samples = data.sample_observations(num_samples, random_state)
    columns = int(np.ceil(np.sqrt(num_samples)))
    written.append(save_image(os.path.join(output_dir, "samples.png"), image_grid(samples, columns)))
    for factor_index in range(data.num_factors):
      strips, _ = factor_traversals(data, factor_index, random_state)
      rows, steps = strips.shape[:2]
      grid = image_grid(strips.reshape((rows * steps,) + shape), steps)
      name = _factor_name(data, factor_index)
      written.append(save_image(os.path.join(output_dir, f"traversal_{name}.png"), grid))
  elif shape == (2,):
    factors, points = data.sample(max(num_samples, 500), random_state)
    written.append(_save_vector_figure(os.path.join(output_dir, "samples.png"), points,
                                       factors[:, 0], "random samples"))
    for factor_index in range(data.num_factors):
      strips, values = factor_traversals(data, factor_index, random_state, num_rows=1,
                                         max_steps=data.factors_num_values[factor_index])
      name = _factor_name(data, factor_index)
      written.append(_save_vector_figure(os.path.join(output_dir, f"traversal_{name}.png"),
                                         strips[0], values, f"traversal of {name}"))
  else:
    raise ValueError(f"Cannot visualise observations of shape {list(shape)}: expected "
                     "[H, W, C] images or [2] vectors.")
  return written
