"""Cars3D, read from the original per-car `.mat` files as dlib does.

Folder below $DISENTANGLEMENT_LIB_DATA, as in dlib: `cars/`, one MATLAB file per car
model (`car_001_mesh.mat`, ...; every file whose name contains ".mat"), key `im`:
uint8 [128, 128, 3, 24, 4] = [height, width, RGB, azimuth, elevation].

Factors: elevation 4, azimuth 24, object type 183 (the car file's position in the
listing). Images are resized to 64x64 with Pillow's LANCZOS filter, as dlib's
`thumbnail((64, 64), ANTIALIAS)` does for square pictures; observations are float32
pixel / 255. Pillow is imported lazily.

Object order: dlib numbers the cars in the order `gfile.ListDirectory` returns them,
which is the file system's directory order (unspecified; on ext4 it follows name
hashes), so dlib's object indices can differ between machines. We sort the names
(car_001 ... car_183), which makes the numbering reproducible; all other factors and
pixels are as in dlib.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import mpi3d
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import util

FOLDER = "cars"
FACTOR_SIZES = (4, 24, 183)  # elevation, azimuth, object type
FACTOR_NAMES = ["elevation", "azimuth", "object_type"]
IMAGE_SIZE = 64
HOW_TO_OBTAIN = (
    "Download http://www.scottreed.info/files/nips2015-analogy-data.tar.gz, unpack it "
    "and move its data/cars folder to cars/ (dlib's dlib_download_data script does this).")


def list_car_files(folder: str) -> list[str]:
  """Sorted names of the car files in `folder` (names containing '.mat', as dlib)."""
  return sorted(name for name in os.listdir(folder) if ".mat" in name)


def resize_like_dlib(images: np.ndarray) -> np.ndarray:
  """Resizes [num, H, W, 3] uint8 to [num, 64, 64, 3] uint8 with Pillow's LANCZOS.

  For square pictures larger than 64 pixels this is exactly what dlib's
  `thumbnail((64, 64, 3), ANTIALIAS)` computes.
  """
  from PIL import Image  # lazy: only Cars3D needs Pillow

  resized = np.empty((images.shape[0], IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
  # Pillow resizes one picture at a time; the per-picture call defines the pixels.
  for i in range(images.shape[0]):
    picture = Image.fromarray(np.ascontiguousarray(images[i]))
    resized[i] = np.asarray(picture.resize((IMAGE_SIZE, IMAGE_SIZE),
                                           Image.Resampling.LANCZOS))
  return resized


def load_car(path: str, num_elevations: int, num_azimuths: int) -> np.ndarray:
  """One car file -> [azimuth * elevation, 64, 64, 3] uint8, elevation fastest."""
  import scipy.io  # lazy: scipy is only needed to read Cars3D

  with paths.reading(path, dataset="cars3d"):
    mesh = scipy.io.loadmat(path)["im"]
  expected = (num_azimuths, num_elevations)
  if (mesh.ndim != 5 or mesh.shape[2] != 3 or mesh.shape[3:] != expected
      or mesh.shape[0] != mesh.shape[1] or mesh.shape[0] < IMAGE_SIZE
      or mesh.dtype != np.uint8):
    raise ValueError(
        f"{path}: 'im' must be uint8 [H, H, 3, {num_azimuths}, {num_elevations}] with "
        f"H >= {IMAGE_SIZE}, got {mesh.dtype} {mesh.shape}.")
  # [H, W, 3, azimuth, elevation] -> [azimuth, elevation, H, W, 3] -> flat pictures.
  pictures = np.transpose(mesh, (3, 4, 0, 1, 2)).reshape((-1,) + mesh.shape[:3])
  return resize_like_dlib(pictures)


class Cars3D(ground_truth_data.StateSpaceData):
  """Cars3D with dlib's factors; observations [64, 64, 3] float32 in [0, 1]."""

  all_factor_names = FACTOR_NAMES

  def __init__(self) -> None:
    self.factor_sizes = list(FACTOR_SIZES)
    self.latent_factor_indices = list(range(3))
    self.state_space = util.SplitDiscreteStateSpace(self.factor_sizes,
                                                    self.latent_factor_indices)
    self.images = self._load_images()

  def _load_images(self):
    """[num_atoms, 64, 64, 3] uint8 in factor order (elevation slowest, object fastest)."""
    folder = paths.dataset_path(FOLDER, dataset="cars3d", how_to_obtain=HOW_TO_OBTAIN)
    num_elevations, num_azimuths, num_objects = self.factor_sizes
    names = list_car_files(folder)
    if len(names) != num_objects:
      raise paths.DatasetFileNotFoundError(
          f"Dataset 'cars3d': expected {num_objects} car .mat files in {folder} "
          f"(${paths.ENV_VAR}/{FOLDER}), found {len(names)}. {HOW_TO_OBTAIN}")
    # dlib's row order is the C-ordered grid [elevation, azimuth, object].
    grid = np.empty((num_elevations, num_azimuths, num_objects, IMAGE_SIZE, IMAGE_SIZE, 3),
                    dtype=np.uint8)
    for car, name in enumerate(names):
      pictures = load_car(os.path.join(folder, name), num_elevations, num_azimuths)
      grid[:, :, car] = np.swapaxes(
          pictures.reshape((num_azimuths, num_elevations) + pictures.shape[1:]), 0, 1)
    return grid.reshape((-1,) + grid.shape[3:])

  @property
  def observation_shape(self) -> list[int]:
    return [IMAGE_SIZE, IMAGE_SIZE, 3]

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    all_factors = self.all_factors_for(factors, random_state)
    flat = all_factors @ mpi3d.mixed_radix_bases(self.factor_sizes)
    # dlib stores pixel / 255. in float64 and casts batches to float32.
    return (self.images[flat] / 255.).astype(np.float32)

