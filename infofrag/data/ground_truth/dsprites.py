"""dSprites and dlib's colour / noise / Scream variants, read from the original `.npz`.

Path below $DISENTANGLEMENT_LIB_DATA, as in dlib:
`dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`, keys `imgs` ([737280, 64,
64] uint8 in {0, 1}) and `latents_classes` ([737280, 6] int64). The six factors are
colour 1, shape 3, scale 6, orientation 40, x 32, y 32, stored in C order (the last
factor varies fastest); `latent_factor_indices` picks the exposed ones (dlib's
dsprites_full uses [1, 2, 3, 4, 5], dsprites_noshape [2, 3, 4, 5]).

dlib takes the factor sizes from the pickled `metadata` entry; we derive them from
`latents_classes` instead (same numbers, and no unpickling of a data file) and check
that the images really are stored in that order. The binary images are kept bit-packed
(0.37 GB instead of 3 GB) and streamed from the file in chunks while loading.

The random stream is consumed exactly as dlib does, so the same seed gives the same
factors and observations. dlib returns float64 for the colour/noise/Scream variants;
we return the same values cast to float32, which is what TensorFlow feeds the model.
ScreamDSprites needs Pillow (imported lazily) and `scream/scream.jpg`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import mpi3d
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import util

DSPRITES_RELATIVE_PATH = ("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
SCREAM_RELATIVE_PATH = ("scream", "scream.jpg")
ALL_FACTOR_NAMES = ["color", "shape", "scale", "orientation", "pos_x", "pos_y"]
DSPRITES_HOW_TO_OBTAIN = (
    "Download it from https://github.com/deepmind/dsprites-dataset (file "
    "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz), as dlib's dlib_download_data "
    "script does.")
SCREAM_HOW_TO_OBTAIN = (
    "Download https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg "
    "and save it as scream/scream.jpg, as dlib's dlib_download_data script does.")
SCREAM_THUMBNAIL_SIZE = (350, 274)  # (width, height) bound used by dlib
PATCH_SIZE = 64
_ROWS_PER_CHUNK = 16384  # images decompressed at a time while loading (64 MB)


def load_packed_images(path: str) -> tuple[np.ndarray, tuple[int, ...]]:
  """Streams `imgs` from the dSprites file and bit-packs it.

  Returns
  -------
  tuple[np.ndarray, tuple[int, ...]]
    ([num, height, ceil(width / 8)] uint8 packed bits, (height, width)).

  Raises
  ------
  ValueError
    if an image has values other than 0 and 1.
  """
  blocks = []
  shape = None
  for shape, block in mpi3d.iter_npz_array_chunks(path, "imgs", _ROWS_PER_CHUNK):
    if len(shape) != 3:
      raise ValueError(f"{path}: 'imgs' must be [num, height, width], got {shape}.")
    if np.any((block != 0) & (block != 1)):
      raise ValueError(f"{path}: 'imgs' must be binary (0/1) dSprites masks.")
    blocks.append(np.packbits(block.astype(np.uint8), axis=-1))
  if shape is None:
    raise ValueError(f"{path}: 'imgs' is empty.")
  return np.concatenate(blocks, axis=0), tuple(shape[1:])


def factor_sizes_from_classes(latents_classes: np.ndarray, path: str) -> list[int]:
  """Factor sizes [F] from `latents_classes` [num, F], checking the C-order layout."""
  classes = np.asarray(latents_classes, dtype=np.int64)
  sizes = classes.max(axis=0) + 1
  flat = classes @ mpi3d.mixed_radix_bases(sizes)
  if classes.shape[0] != int(np.prod(sizes)) or np.any(flat != np.arange(classes.shape[0])):
    raise ValueError(
        f"{path}: 'latents_classes' does not enumerate the factor grid {sizes.tolist()} "
        "in C order (last factor fastest), which the image lookup relies on.")
  return sizes.tolist()


class DSprites(ground_truth_data.StateSpaceData):
  """dSprites; observations [64, 64, 1] float32 in {0, 1}.

  Parameters
  ----------
  latent_factor_indices
    which of the six factors (colour, shape, scale,
    orientation, x, y) are ground-truth factors; None means all six (dlib's default).
  """

  all_factor_names = ALL_FACTOR_NAMES

  def __init__(self, latent_factor_indices: Sequence[int] | None = None) -> None:
    if latent_factor_indices is None:
      latent_factor_indices = list(range(6))
    self.latent_factor_indices = [int(i) for i in latent_factor_indices]
    path = paths.dataset_path(*DSPRITES_RELATIVE_PATH, dataset="dsprites",
                              how_to_obtain=DSPRITES_HOW_TO_OBTAIN)
    with paths.reading(path, dataset="dsprites"):
      self.packed_images, self.image_size = load_packed_images(path)
      with np.load(path, allow_pickle=False) as data:
        classes = data["latents_classes"]
    self.factor_sizes = factor_sizes_from_classes(classes, path)
    if len(self.packed_images) != int(np.prod(self.factor_sizes)):
      raise ValueError(f"{path}: {len(self.packed_images)} images but "
                       f"{int(np.prod(self.factor_sizes))} factor tuples.")
    bad = [i for i in self.latent_factor_indices if not 0 <= i < len(self.factor_sizes)]
    if bad:
      raise ValueError(f"latent_factor_indices {bad} out of range [0, "
                       f"{len(self.factor_sizes)}).")
    self.factor_bases = mpi3d.mixed_radix_bases(self.factor_sizes)
    self.state_space = util.SplitDiscreteStateSpace(self.factor_sizes,
                                                    self.latent_factor_indices)
    self.data_shape = [self.image_size[0], self.image_size[1], 1]

  @property
  def observation_shape(self) -> list[int]:
    return list(self.data_shape)

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    return self.sample_observations_from_factors_no_color(factors, random_state)

  def sample_observations_from_factors_no_color(self, factors: npt.ArrayLike,
                                                random_state: np.random.RandomState) -> np.ndarray:
    """Binary sprite masks [num, 64, 64, 1] float32 (draws the non-latent factors)."""
    all_factors = self.all_factors_for(factors, random_state)
    packed = self.packed_images[all_factors @ self.factor_bases]
    masks = np.unpackbits(packed, axis=-1, count=self.image_size[1])
    return masks[..., None].astype(np.float32)


class _RgbDSprites(DSprites):
  """dSprites variants whose observations are [64, 64, 3] float32."""

  def __init__(self, latent_factor_indices: Sequence[int] | None = None) -> None:
    super().__init__(latent_factor_indices)
    self.data_shape = [self.image_size[0], self.image_size[1], 3]


class ColorDSprites(_RgbDSprites):
  """dSprites with the sprite tinted by a random colour in [0.5, 1]^3 per image.

  Observations [64, 64, 3] float32.
  """

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    masks = self.sample_observations_from_factors_no_color(factors, random_state)
    colors = random_state.uniform(0.5, 1, [masks.shape[0], 1, 1, 3])
    return (masks * colors).astype(np.float32)


class NoisyDSprites(_RgbDSprites):
  """dSprites on a uniform-noise background (sprite pixels stay 1).

  Observations [64, 64, 3] float32.
  """

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    masks = self.sample_observations_from_factors_no_color(factors, random_state)
    noise = random_state.uniform(0, 1, [masks.shape[0]] + self.data_shape)
    return np.minimum(masks + noise, 1.).astype(np.float32)


def load_scream(path: str) -> np.ndarray:
  """The Scream resized as dlib does -> [height, width, 3] float64 in [0, 1].

  dlib calls `thumbnail((350, 274, 3))` with the Pillow of its time (< 7): size bound
  computed with integer truncation, a JPEG `draft` to that size, then a BICUBIC
  resize. Current Pillow changed thumbnail's sizing and draft step, so that recipe is
  reproduced explicitly here.
  """
  from PIL import Image  # lazy: only ScreamDSprites needs Pillow

  with Image.open(path) as image:
    size = _legacy_thumbnail_size(image.size, SCREAM_THUMBNAIL_SIZE)
    if size != image.size:
      image.draft(None, size)
      image = image.resize(size, Image.Resampling.BICUBIC)
    scream = np.array(image) * 1. / 255.
  if scream.ndim != 3 or scream.shape[2] != 3 or min(scream.shape[:2]) <= PATCH_SIZE:
    raise ValueError(
        f"{path}: expected an RGB picture larger than {PATCH_SIZE}x{PATCH_SIZE} pixels "
        f"after resizing, got an array of shape {scream.shape}.")
  return scream


def _legacy_thumbnail_size(size, bound):
  """Pillow < 7 thumbnail size: fit (width, height) into `bound`, truncating."""
  width, height = size
  if width > bound[0]:
    height = int(max(height * bound[0] / width, 1))
    width = int(bound[0])
  if height > bound[1]:
    width = int(max(width * bound[1] / height, 1))
    height = int(bound[1])
  return width, height


class ScreamDSprites(_RgbDSprites):
  """dSprites pasted on a random patch of The Scream (colours inverted under the sprite).

  Observations [64, 64, 3] float32 in [0, 1].
  """

  def __init__(self, latent_factor_indices: Sequence[int] | None = None) -> None:
    super().__init__(latent_factor_indices)
    scream_path = paths.dataset_path(*SCREAM_RELATIVE_PATH, dataset="scream_dsprites",
                                     how_to_obtain=SCREAM_HOW_TO_OBTAIN)
    self.scream = load_scream(scream_path)

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    masks = self.sample_observations_from_factors_no_color(factors, random_state)
    num = masks.shape[0]
    rows = np.empty(num, dtype=np.int64)
    cols = np.empty(num, dtype=np.int64)
    tints = np.empty((num, 3))
    # dlib draws (row, column, tint) image by image; only the draws are looped over
    # so the random stream stays identical, the pixels are assembled vectorised.
    for i in range(num):
      rows[i] = random_state.randint(0, self.scream.shape[0] - PATCH_SIZE)
      cols[i] = random_state.randint(0, self.scream.shape[1] - PATCH_SIZE)
      tints[i] = random_state.uniform(0, 1, size=3)
    offsets = np.arange(PATCH_SIZE)
    patches = self.scream[rows[:, None, None] + offsets[None, :, None],
                          cols[:, None, None] + offsets[None, None, :]]
    background = (patches + tints[:, None, None, :]) / 2.
    return np.where(masks == 1, 1 - background, background).astype(np.float32)
