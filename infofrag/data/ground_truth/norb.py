"""SmallNORB, read from the six original NORB binary-matrix files as dlib does.

Files below $DISENTANGLEMENT_LIB_DATA, as in dlib:
`small_norb/smallnorb-{chunk}-{dat,cat,info}.mat` for the training chunk
`5x46789x9x18x6x2x96x96-training` and the testing chunk `5x01235x9x18x6x2x96x96-testing`
(both are used; together they cover every factor tuple once).

Factors of the files: category 5, instance 10, elevation 9, azimuth 18 (stored as 0, 2,
..., 34), lighting 6. dlib exposes [category, elevation, azimuth, lighting] and draws the
instance at random. Images: the left camera image of each stereo pair, 96x96, resized
to 64x64 with Pillow's LANCZOS ("ANTIALIAS") filter.

Parity detail: dlib reads the byte matrix as *int8* and hands it to Pillow, which turns
an int8 array into a 32-bit integer image with the bytes read unsigned; LANCZOS on such
an image is computed in floating point and is not clipped to [0, 255]. We follow the
same path, so pixel values equal dlib's, including the small over/undershoot at edges
(observations can lie slightly outside [0, 1]). Pillow is imported lazily.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import util

FOLDER = "small_norb"
FILE_TEMPLATE = "smallnorb-{}-{}.mat"
CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
FACTOR_SIZES = (5, 10, 9, 18, 6)  # category, instance, elevation, azimuth, lighting
LATENT_FACTOR_INDICES = (0, 2, 3, 4)
ALL_FACTOR_NAMES = ["category", "instance", "elevation", "azimuth", "lighting"]
IMAGE_SIZE = 64
HOW_TO_OBTAIN = (
    "Download the six gzipped files from https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ "
    "and gunzip them into small_norb/ (dlib's dlib_download_data script does this).")

# NORB binary matrix type codes -> numpy dtypes (little endian). The byte matrix is
# read as int8 because dlib does, which matters for the resize (see module docstring).
_MATRIX_DTYPES = {
    0x1E3D4C55: np.dtype("<i1"),  # byte matrix
    0x1E3D4C54: np.dtype("<i4"),  # integer matrix
    0x1E3D4C51: np.dtype("<f4"),  # single precision matrix
    0x1E3D4C53: np.dtype("<f8"),  # double precision matrix
}


def read_binary_matrix(path: str) -> np.ndarray:
  """Reads a NORB binary matrix file, memory-mapped.

  Format: int32 magic (type code), int32 number of dimensions n, max(3, n) int32
  dimension sizes, then the data in C order.

  Returns
  -------
  np.ndarray
    read-only np.memmap with the stored shape.
  """
  header = np.fromfile(path, dtype="<i4", count=2)
  if header.size < 2 or int(header[0]) not in _MATRIX_DTYPES:
    raise ValueError(f"{path} is not a NORB binary matrix file (unknown magic number).")
  magic, ndim = int(header[0]), int(header[1])
  stored_dims = max(3, ndim)
  dims = np.fromfile(path, dtype="<i4", count=stored_dims, offset=8)[:ndim]
  return np.memmap(path, dtype=_MATRIX_DTYPES[magic], mode="r", offset=8 + 4 * stored_dims,
                   shape=tuple(int(d) for d in dims))


def resize_like_dlib(images: np.ndarray) -> np.ndarray:
  """Resizes [num, H, W] int8 NORB images to [num, 64, 64] as dlib does.

  Returns
  -------
  ndarray of shape (num, 64, 64)
    Int16 pixel values on the 0..255 scale (may over/undershoot a
    little, see module docstring); dlib's images are these values / 255.
  """
  from PIL import Image  # lazy: only SmallNORB needs Pillow

  resized = np.empty((images.shape[0], IMAGE_SIZE, IMAGE_SIZE), dtype=np.int16)
  # Pillow resizes one image at a time; the per-image call is the parity-defining step.
  for i in range(images.shape[0]):
    image = Image.fromarray(np.ascontiguousarray(images[i], dtype=np.int8))
    resized[i] = np.asarray(image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS))
  return resized


def load_chunk(chunk: str) -> tuple[np.ndarray, np.ndarray]:
  """One chunk -> (images [num, 64, 64] int16, features [num, 5] int64)."""
  def file_path(kind):
    return paths.dataset_path(FOLDER, FILE_TEMPLATE.format(chunk, kind), dataset="smallnorb",
                              how_to_obtain=HOW_TO_OBTAIN)

  dat_path, cat_path, info_path = file_path("dat"), file_path("cat"), file_path("info")
  with paths.reading(dat_path, dataset="smallnorb"):
    stereo = read_binary_matrix(dat_path)
  with paths.reading(cat_path, dataset="smallnorb"):
    categories = np.asarray(read_binary_matrix(cat_path)).reshape(-1, 1)
  with paths.reading(info_path, dataset="smallnorb"):
    info = np.asarray(read_binary_matrix(info_path))
  if stereo.ndim != 4 or not len(stereo) == len(categories) == len(info) or info.shape[1] != 4:
    raise ValueError(
        f"SmallNORB chunk {chunk}: inconsistent files (dat {stereo.shape}, cat "
        f"{categories.shape}, info {info.shape}); expected [N, 2, 96, 96], [N], [N, 4].")
  features = np.column_stack((categories, info)).astype(np.int64)
  return resize_like_dlib(stereo[:, 0]), features


def load_small_norb() -> tuple[np.ndarray, np.ndarray]:
  """Both chunks -> (images [num, 64, 64] int16, features [num, 5] int64)."""
  images, features = zip(*(load_chunk(chunk) for chunk in CHUNKS))
  features = np.concatenate(features, axis=0)
  features[:, 3] //= 2  # azimuth is stored as 0, 2, ..., 34
  return np.concatenate(images, axis=0), features


class SmallNORB(ground_truth_data.StateSpaceData):
  """SmallNORB with dlib's factors (category, elevation, azimuth, lighting).

  Observations [64, 64, 1] float32, pixel / 255 (the instance is drawn at random).
  """

  all_factor_names = ALL_FACTOR_NAMES

  def __init__(self) -> None:
    self.images, features = load_small_norb()
    self.factor_sizes = list(FACTOR_SIZES)
    self.latent_factor_indices = list(LATENT_FACTOR_INDICES)
    self.index = util.StateSpaceAtomIndex(self.factor_sizes, features)
    self.state_space = util.SplitDiscreteStateSpace(self.factor_sizes,
                                                    self.latent_factor_indices)

  @property
  def observation_shape(self) -> list[int]:
    return [IMAGE_SIZE, IMAGE_SIZE, 1]

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    all_factors = self.all_factors_for(factors, random_state)
    pixels = self.images[self.index.features_to_index(all_factors)]
    # dlib stores pixel / 255. in float64 and casts batches to float32.
    return (pixels[..., None] / 255.).astype(np.float32)
