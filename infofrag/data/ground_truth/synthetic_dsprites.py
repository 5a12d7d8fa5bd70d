"""`synthetic_dsprites`: dSprites rendered procedurally, no download needed.

Factors, in dlib's dsprites_full order: shape (3: square, ellipse, heart), scale (6
values in [0.5, 1]), orientation (40 values in [0, 2*pi], both ends included as in
dSprites), x position (32), y position (32). Images are 64x64x1, binary, in {0, 1},
float32, and a deterministic function of the factor tuple.

The random stream is consumed exactly as dlib's `DSprites(latent_factor_indices=[1..5])`
consumes it (including the draw for dSprites' constant colour factor), so metric code
sampling with `np.random.RandomState(seed)` visits the same factor tuples as dlib on
`dsprites_full`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import util

IMAGE_SIZE = 64
SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
# dSprites' factors; the constant colour is not exposed (as in dlib's dsprites_full).
ALL_FACTOR_NAMES = ["color", "shape", "scale", "orientation", "pos_x", "pos_y"]

# Geometry in pixels: sprite centres move over [_MARGIN, 64 - _MARGIN]; a unit-scale
# sprite has "radius" _SPRITE_RADIUS. With these values every sprite stays inside.
_MARGIN = 14.0
_SPRITE_RADIUS = 9.0
_WINDOW = 28  # rendering window around each centre (largest rotated square: +-12.8 px)
_PAD = 2  # centres lie in [14, 50], so windows reach at most 2 px past the image
_CHUNK = 4096  # images rendered per vectorised block (bounds memory to ~30 MB)


def _inside_square(u, v):
  return (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)


def _inside_ellipse(u, v):
  # Elongated ellipse as in dSprites: semi-axes 1.15 and 0.55 (unit radius units).
  return (u / 1.15) ** 2 + (v / 0.55) ** 2 <= 1.0


def _inside_heart(u, v):
  # Classic implicit heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, point up along -v
  # (image rows grow downwards), shifted so its bounding box is centred.
  x = u * 1.12
  y = -(v * 1.12) + 0.1
  r = x * x + y * y - 1.0
  return r * r * r - x * x * y * y * y <= 0.0


_SHAPE_TESTS = (_inside_square, _inside_ellipse, _inside_heart)


def render(shape: npt.ArrayLike, scale: npt.ArrayLike, orientation: npt.ArrayLike,
           pos_x: npt.ArrayLike, pos_y: npt.ArrayLike) -> np.ndarray:
  """Renders dSprites-like images from factor *indices*.

  Parameters
  ----------
  shape, scale, orientation, pos_x, pos_y : npt.ArrayLike
    int arrays [num] of factor indices.

  Returns
  -------
  ndarray of shape (num, 64, 64, 1)
    Float32 in {0, 1}.
  """
  shape = np.asarray(shape, dtype=np.int64)
  num = shape.shape[0]
  out = np.empty((num, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.float32)
  for start in range(0, num, _CHUNK):
    stop = min(num, start + _CHUNK)
    out[start:stop, :, :, 0] = _render_chunk(
        shape[start:stop], np.asarray(scale)[start:stop],
        np.asarray(orientation)[start:stop], np.asarray(pos_x)[start:stop],
        np.asarray(pos_y)[start:stop])
  return out


def _render_chunk(shape, scale, orientation, pos_x, pos_y):
  num = shape.shape[0]
  travel = IMAGE_SIZE - 2.0 * _MARGIN
  # float32 halves the memory traffic; the geometry needs far less precision.
  center_x = (_MARGIN + POSITIONS[pos_x] * travel).astype(np.float32)  # [num] column
  center_y = (_MARGIN + POSITIONS[pos_y] * travel).astype(np.float32)  # [num] row
  radius = (_SPRITE_RADIUS * SCALES[scale]).astype(np.float32)
  angle = ORIENTATIONS[orientation]
  # Integer top-left corner of each rendering window.
  col0 = np.floor(center_x).astype(np.int64) - _WINDOW // 2
  row0 = np.floor(center_y).astype(np.int64) - _WINDOW // 2
  offsets = np.arange(_WINDOW)
  offsets_f = offsets.astype(np.float32) + np.float32(0.5)
  # Pixel-centre coordinates relative to the sprite centre: [num, W, 1] and [num, 1, W].
  dy = ((row0 - center_y)[:, None] + offsets_f[None, :])[:, :, None]
  dx = ((col0 - center_x)[:, None] + offsets_f[None, :])[:, None, :]
  cos_a = np.cos(angle).astype(np.float32)[:, None, None]
  sin_a = np.sin(angle).astype(np.float32)[:, None, None]
  # Rotate the sampling grid by -angle (rotates the sprite by +angle), then scale.
  u = (cos_a * dx + sin_a * dy) / radius[:, None, None]
  v = (-sin_a * dx + cos_a * dy) / radius[:, None, None]
  mask = np.zeros((num, _WINDOW, _WINDOW), dtype=bool)
  for shape_index, inside in enumerate(_SHAPE_TESTS):
    rows = shape == shape_index
    if np.any(rows):
      mask[rows] = inside(u[rows], v[rows])
  size = IMAGE_SIZE + 2 * _PAD
  canvas = np.zeros((num, size, size), dtype=np.float32)
  rows_index = (row0 + _PAD)[:, None, None] + offsets[None, :, None]
  cols_index = (col0 + _PAD)[:, None, None] + offsets[None, None, :]
  canvas[np.arange(num)[:, None, None], rows_index, cols_index] = mask
  return canvas[:, _PAD:_PAD + IMAGE_SIZE, _PAD:_PAD + IMAGE_SIZE]


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
  """Mean-pools square blocks of `factor` x `factor` pixels.

  Parameters
  ----------
  images : ndarray of shape (num, H, W, C)
      H and W multiples of `factor`.
  factor : int

  Returns
  -------
  ndarray of shape (num, H // factor, W // factor, C), float32 in [0, 1] (grey values
  are the covered fraction of each block, so small sprites stay visible).
  """
  total = np.zeros_like(images[:, ::factor, ::factor])
  for row in range(factor):  # strided adds: several times faster than a mean over axes
    for col in range(factor):
      total += images[:, row::factor, col::factor]
  return total * np.float32(1.0 / (factor * factor))


class SyntheticDSprites(ground_truth_data.StateSpaceData):
  """Embedded, procedurally rendered dSprites (shape, scale, orientation, x, y)."""

  all_factor_names = ALL_FACTOR_NAMES

  def __init__(self) -> None:
    self.full_factor_sizes = [1, 3, 6, 40, 32, 32]
    self.latent_factor_indices = [1, 2, 3, 4, 5]
    self.state_space = util.SplitDiscreteStateSpace(
        self.full_factor_sizes, self.latent_factor_indices)

  @property
  def observation_shape(self) -> list[int]:
    return [IMAGE_SIZE, IMAGE_SIZE, 1]

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    # Drawn only to keep the random stream aligned with dlib's dsprites_full.
    all_factors = self.all_factors_for(factors, random_state)
    return render(all_factors[:, 1], all_factors[:, 2], all_factors[:, 3],
                  all_factors[:, 4], all_factors[:, 5])


class SyntheticDSprites32(SyntheticDSprites):
  """`synthetic_dsprites` at 32x32: the same factors, random stream and sprites, rendered
  at 64x64 and mean-pooled 2x2 (grey edges).

  A lower-cost variant for CPU-only runs: a conv VAE on 32x32 inputs trains about four
  times faster per step than at dlib's 64x64, which lets a small beta-VAE ensemble reach
  axis-aligned position channels within minutes.
  """

  @property
  def observation_shape(self) -> list[int]:
    return [IMAGE_SIZE // 2, IMAGE_SIZE // 2, 1]

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    return downsample(super().sample_observations_from_factors(factors, random_state), 2)
