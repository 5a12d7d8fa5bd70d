"""Image grids, GIF animations and latent cycles for model visualizations (numpy + Pillow).

Images are float arrays [H, W, C] with values in [0, 1] and C = 1 or 3; grey images are
saved as RGB. Every file is written atomically (infofrag.utils.io.atomic_path).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

from infofrag.utils import io

PADDING_PX = 10


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
  """[H, W, 1 or 3] floats in [0, 1] -> [H, W, 3] uint8 (values clipped, rounded down)."""
  image = np.asarray(image, dtype=np.float64)
  if image.ndim == 2:
    image = image[:, :, None]
  if image.shape[2] == 1:
    image = np.repeat(image, 3, axis=2)
  if image.shape[2] != 3:
    raise ValueError(f"an image needs 1 or 3 channels, got shape {list(image.shape)}.")
  return (np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(image: np.ndarray, path: str) -> None:
  """Writes one [H, W, C] image in [0, 1] (format from the extension, e.g. .jpg)."""
  from PIL import Image
  with io.atomic_path(path) as tmp:
    Image.fromarray(to_rgb_uint8(image), mode="RGB").save(tmp)


def square_grid(images: Sequence[np.ndarray]) -> np.ndarray:
  """dlib's grid: floor(sqrt(n))^2 images, filled column by column, no padding.

  Parameters
  ----------
  images : sequence of [H, W, C] arrays (n of them; the ones beyond the square are left out)

  Returns
  -------
  [side * H, side * W, C] array.
  """
  side = int(math.floor(math.sqrt(len(images))))
  columns = [np.concatenate(list(images[side * c:side * (c + 1)]), axis=0) for c in range(side)]
  return np.concatenate(columns, axis=1)


def grid_rows(count: int, *, max_ratio: int = 4) -> int:
  """Rows of a near-square grid of `count` panels: the largest r <= sqrt(count) that
  divides it, unless that makes the grid wider than `max_ratio` times r, in which case
  the r (scanned downwards from sqrt(count)) leaving the fewest empty cells."""
  best, best_empty = 1, count
  rows = max(1, int(math.isqrt(count)))
  while rows >= 1 and count <= max_ratio * rows * rows:
    empty = (-count) % rows
    if empty == 0:
      return rows
    if empty < best_empty:
      best, best_empty = rows, empty
    rows -= 1
  return best


def _stack(images: Sequence[np.ndarray], axis: int, padding_px: int) -> np.ndarray:
  """Images joined along `axis` with white bars of `padding_px` between them."""
  shape = list(images[0].shape)
  shape[axis] = padding_px
  bar = np.ones(shape, dtype=images[0].dtype)
  pieces = []
  for index, image in enumerate(images):
    if index:
      pieces.append(bar)
    pieces.append(image)
  return np.concatenate(pieces, axis=axis)


def padded_grid(images: Sequence[np.ndarray], *, num_rows: int | None = None,
                padding_px: int = PADDING_PX) -> np.ndarray:
  """Panels row by row with white bars between them (empty cells white).

  Parameters
  ----------
  images : sequence of [H, W, C] arrays
  num_rows : int or None
      None: `grid_rows`.
  padding_px : int

  Returns
  -------
  [rows * H + (rows - 1) * pad, cols * W + (cols - 1) * pad, C] array.
  """
  images = list(images)
  num_rows = num_rows or grid_rows(len(images))
  num_cols = int(math.ceil(len(images) / num_rows))
  images += [np.ones_like(images[0])] * (num_rows * num_cols - len(images))
  rows = [_stack(images[r * num_cols:(r + 1) * num_cols], 1, padding_px)
          for r in range(num_rows)]
  return _stack(rows, 0, padding_px)


def pad_around(image: np.ndarray, padding_px: int = PADDING_PX) -> np.ndarray:
  """A white border of `padding_px` on every side of [H, W, C]."""
  return np.pad(image, ((padding_px, padding_px), (padding_px, padding_px), (0, 0)),
                constant_values=1.0)


def save_animation(panels: np.ndarray, path: str, fps: float) -> None:
  """A looping GIF whose frame t shows every panel's frame t on a padded grid.

  Parameters
  ----------
  panels : array [P, T, H, W, C] in [0, 1]
      P panels (e.g. one per latent) of T frames each.
  path : str
      The .gif to write.
  fps : float
      Frames per second.
  """
  from PIL import Image
  panels = np.asarray(panels)
  frames = [Image.fromarray(to_rgb_uint8(pad_around(padded_grid(list(panels[:, t])))),
                            mode="RGB") for t in range(panels.shape[1])]
  with io.atomic_path(path) as tmp:
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                   duration=int(round(1000.0 / fps)), loop=0)


def _triangle(start: float, num_frames: int) -> np.ndarray:
  """num_frames points going from `start` up to 1, down to 0 and back (one reflection at
  each end, as dlib folds them)."""
  grid = np.linspace(start, start + 2.0, num=num_frames, endpoint=False)
  grid = np.where(grid > 1.0, 2.0 - grid, grid)
  return np.where(grid < 0.0, -grid, grid)


def cycle_gaussian(start: float, num_frames: int, *, loc: float = 0.0,
                   scale: float = 1.0) -> np.ndarray:
  """[num_frames] values cycling once through the quantiles (0.001 to 0.999) of N(loc,
  scale^2), starting at `start`'s quantile."""
  quantiles = _triangle(float(stats.norm.cdf(start, loc=loc, scale=scale)), num_frames)
  return stats.norm.ppf(np.clip(quantiles, 0.001, 0.999), loc=loc, scale=scale)


def cycle_interval(start: float, num_frames: int, low: float, high: float) -> np.ndarray:
  """[num_frames] values cycling once linearly through [low, high], starting at `start`."""
  return _triangle((start - low) / (high - low), num_frames) * (high - low) + low
