"""Shapes3D (3dshapes), read from dlib's `.npz` file.

Path below $DISENTANGLEMENT_LIB_DATA, as in dlib:
`3dshapes/look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-shapeXview-azi.npz`,
key `images`: uint8 [10, 10, 10, 8, 4, 15, 64, 64, 3] (or already flattened to
[480000, 64, 64, 3]) in factor order. dlib also reads `labels` but never uses them.

Factors: floor hue 10, wall hue 10, object hue 10, object size 8, object shape 4,
azimuth 15. Observations are float32 `images / 255.` exactly as dlib computes them; the
images stay uint8 (memory-mapped when the `.npz` is uncompressed) and are converted per
batch, where dlib converts the whole data set to float32 up front (23 GB).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import mpi3d
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import util

RELATIVE_PATH = (
    "3dshapes",
    "look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-shapeXview-azi.npz")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
FACTOR_NAMES = ["floor_hue", "wall_hue", "object_hue", "object_size", "object_shape",
                "azimuth"]
IMAGE_SHAPE = (64, 64, 3)
HOW_TO_OBTAIN = (
    "The 3dshapes data set is published by DeepMind as "
    "https://storage.googleapis.com/3d-shapes/3dshapes.h5 (see "
    "https://github.com/deepmind/3d-shapes); dlib expects it as this .npz, e.g. "
    "np.savez(path, images=h5['images'][:], labels=h5['labels'][:]) (an uncompressed "
    "np.savez file is memory-mapped instead of read into memory).")


class Shapes3D(ground_truth_data.StateSpaceData):
  """3dshapes with dlib's factor order; observations [64, 64, 3] float32 in [0, 1]."""

  all_factor_names = FACTOR_NAMES

  def __init__(self) -> None:
    path = paths.dataset_path(*RELATIVE_PATH, dataset="shapes3d",
                              how_to_obtain=HOW_TO_OBTAIN)
    self.factor_sizes = list(FACTOR_SIZES)
    with paths.reading(path, dataset="shapes3d"):
      images = mpi3d.load_npz_array(path, "images")
    self.images = mpi3d.flat_image_array(images, self.factor_sizes, path)
    self.latent_factor_indices = list(range(len(self.factor_sizes)))
    self.state_space = util.SplitDiscreteStateSpace(self.factor_sizes,
                                                    self.latent_factor_indices)
    self.factor_bases = mpi3d.mixed_radix_bases(self.factor_sizes)

  @property
  def observation_shape(self) -> list[int]:
    return list(IMAGE_SHAPE)

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    indices = self.all_factors_for(factors, random_state) @ self.factor_bases
    # dlib: images.astype(float32) / 255. (a float32 division), done per batch here.
    return self.images[indices].astype(np.float32) / np.float32(255.)

