"""MPI3D (toy / realistic / real), read from dlib's `.npz` files.

Layout below $DISENTANGLEMENT_LIB_DATA, as in dlib: `<mode>/<mode>.npz` with key
`images`, [num_images, 64, 64, 3] uint8, stored in factor order (the last factor varies
fastest). Factors: object colour (4; 6 for mpi3d_real), object shape (4; 6 for
mpi3d_real), object size 2, camera height 3, background colour 3, first DOF 40, second
DOF 40.

Observations are `images / 255.` as in dlib; dlib returns float64, we return the same
values cast to float32 (the cast TensorFlow applies when dlib feeds them to a model).

The module also holds the `.npz` readers shared by the other `.npz` datasets: members
stored without compression are memory-mapped instead of read, and compressed members
can be streamed in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import struct
import zipfile

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import util

IMAGE_SHAPE = (64, 64, 3)

# Factor sizes per mode, exactly dlib's.
FACTOR_SIZES = {
    "mpi3d_toy": (4, 4, 2, 3, 3, 40, 40),
    "mpi3d_realistic": (4, 4, 2, 3, 3, 40, 40),
    "mpi3d_real": (6, 6, 2, 3, 3, 40, 40),
}

FACTOR_NAMES = ["object_color", "object_shape", "object_size", "camera_height",
                "background_color", "first_dof", "second_dof"]

HOW_TO_OBTAIN = {
    "mpi3d_toy": (
        "Download https://storage.googleapis.com/disentanglement_dataset/data_npz/"
        "sim_toy_64x_ordered_without_heldout_factors.npz (as dlib's dlib_download_data "
        "script does) and save it as mpi3d_toy/mpi3d_toy.npz."),
    "mpi3d_realistic": (
        "Download https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
        "mpi3d_realistic.npz (see https://github.com/rr-learning/disentanglement_dataset) "
        "and save it as mpi3d_realistic/mpi3d_realistic.npz."),
    "mpi3d_real": (
        "Download https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
        "mpi3d_real.npz (see https://github.com/rr-learning/disentanglement_dataset) and "
        "save it as mpi3d_real/mpi3d_real.npz."),
}

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"


def _member_name(zip_file, key, path):
  name = key + ".npy"
  if name not in zip_file.namelist():
    keys = sorted(n[:-4] for n in zip_file.namelist() if n.endswith(".npy"))
    raise ValueError(f"{path} has no array named {key!r} (it holds: {', '.join(keys)}).")
  return name


def _read_npy_header(stream):
  """Reads the .npy preamble from `stream` -> (shape, fortran_order, dtype)."""
  version = np.lib.format.read_magic(stream)
  if version == (1, 0):
    return np.lib.format.read_array_header_1_0(stream)
  if version == (2, 0):
    return np.lib.format.read_array_header_2_0(stream)
  raise ValueError(f"Unsupported .npy format version {version}.")


def _check_plain_dtype(dtype, key, path):
  if dtype.hasobject:
    raise ValueError(
        f"{path}: array {key!r} holds Python objects; only plain numeric arrays are "
        "read (no unpickling of data files).")


def load_npz_array(path: str, key: str) -> np.ndarray:
  """One array of an `.npz` file, memory-mapped when the member is uncompressed.

  `np.savez` members are memory-mapped read-only (nothing is read until indexed);
  `np.savez_compressed` members are decompressed into memory, as `np.load` would.

  Parameters
  ----------
  path : str
    the `.npz` file.
  key : str
    the array name inside it.

  Returns
  -------
  np.ndarray
    np.ndarray or read-only np.memmap with the stored shape and dtype.
  """
  with zipfile.ZipFile(path) as zip_file:
    info = zip_file.getinfo(_member_name(zip_file, key, path))
  if info.compress_type != zipfile.ZIP_STORED:
    with np.load(path, allow_pickle=False) as data:
      return data[key]
  with open(path, "rb") as raw:
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != _LOCAL_HEADER_SIGNATURE:
      raise ValueError(f"{path}: corrupt zip entry for {key!r}.")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    shape, fortran_order, dtype = _read_npy_header(raw)
    _check_plain_dtype(dtype, key, path)
    offset = raw.tell()
  return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                   order="F" if fortran_order else "C")


def iter_npz_array_chunks(path: str, key: str,
                          rows_per_chunk: int) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
  """Streams a C-ordered `.npz` array as consecutive blocks of rows (bounded memory).

  Parameters
  ----------
  path : str
    the `.npz` file (compressed or not).
  key : str
    the array name inside it.
  rows_per_chunk : int
    rows (first-axis entries) per yielded block.

  Yields
  ------
  object
    (shape, block): the full array shape and a [<= rows_per_chunk, *shape[1:]] array.
  """
  with zipfile.ZipFile(path) as zip_file:
    with zip_file.open(_member_name(zip_file, key, path)) as stream:
      shape, fortran_order, dtype = _read_npy_header(stream)
      _check_plain_dtype(dtype, key, path)
      if fortran_order and len(shape) > 1:
        raise ValueError(f"{path}: array {key!r} is stored in Fortran order; "
                         "re-save it in C order (np.ascontiguousarray).")
      row_shape = tuple(shape[1:])
      row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
      for start in range(0, shape[0], rows_per_chunk):
        rows = min(rows_per_chunk, shape[0] - start)
        buffer = stream.read(rows * row_bytes)
        if len(buffer) != rows * row_bytes:
          raise ValueError(f"{path}: array {key!r} is truncated.")
        yield shape, np.frombuffer(buffer, dtype=dtype).reshape((rows,) + row_shape)


def mixed_radix_bases(factor_sizes: Sequence[int]) -> np.ndarray:
  """[F] int64 strides of factor tuples in a C-ordered grid (last factor fastest)."""
  sizes = np.asarray(factor_sizes, dtype=np.int64)
  return np.prod(sizes) // np.cumprod(sizes)


class MPI3D(ground_truth_data.StateSpaceData):
  """MPI3D images with dlib's factor order; `mode` picks the variant.

  Parameters
  ----------
  mode
    "mpi3d_toy", "mpi3d_realistic" or "mpi3d_real".
  """

  all_factor_names = FACTOR_NAMES

  def __init__(self, mode: str = 'mpi3d_toy') -> None:
    if mode not in FACTOR_SIZES:
      raise ValueError(f"Unknown MPI3D mode {mode!r}; use one of {', '.join(FACTOR_SIZES)}.")
    self.mode = mode
    self.factor_sizes = list(FACTOR_SIZES[mode])
    path = paths.dataset_path(mode, f"{mode}.npz", dataset=mode,
                              how_to_obtain=HOW_TO_OBTAIN[mode])
    with paths.reading(path, dataset=mode):
      images = load_npz_array(path, "images")
    self.images = flat_image_array(images, self.factor_sizes, path)
    self.latent_factor_indices = list(range(len(self.factor_sizes)))
    self.state_space = util.SplitDiscreteStateSpace(self.factor_sizes,
                                                    self.latent_factor_indices)
    self.factor_bases = mixed_radix_bases(self.factor_sizes)

  @property
  def observation_shape(self) -> list[int]:
    return list(IMAGE_SHAPE)

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    indices = self.all_factors_for(factors, random_state) @ self.factor_bases
    # Same arithmetic as dlib (uint8 / 255. in float64), then float32.
    return (self.images[indices] / 255.).astype(np.float32)


def flat_image_array(images: np.ndarray, factor_sizes: Sequence[int], path: str) -> np.ndarray:
  """Checks the image array and views it as [num_atoms, 64, 64, 3]."""
  num_atoms = int(np.prod(factor_sizes))
  if images.shape[-3:] != IMAGE_SHAPE or int(np.prod(images.shape[:-3])) != num_atoms:
    raise ValueError(
        f"{path}: 'images' has shape {images.shape}; expected {num_atoms} images of "
        f"shape {IMAGE_SHAPE} (factor sizes {list(factor_sizes)}).")
  return images.reshape((num_atoms,) + IMAGE_SHAPE)
