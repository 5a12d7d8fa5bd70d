"""Real-format dataset loaders on tiny files written in each data set's own format.

Each fixture writes a few images in the real file layout below a temporary
$DISENTANGLEMENT_LIB_DATA, shrinking the factor sizes through the loaders' module
constants, and encodes every image's factor tuple into its pixels so the tests can check
that `sample_observations_from_factors` returns the image that belongs to the factors.
"""

import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from infofrag.data import named_data
from infofrag.data.ground_truth import cars3d
from infofrag.data.ground_truth import dsprites
from infofrag.data.ground_truth import mpi3d
from infofrag.data.ground_truth import norb
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import shapes3d

REAL_DATASETS = ("dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites",
                 "scream_dsprites", "smallnorb", "cars3d", "shapes3d", "mpi3d_toy",
                 "mpi3d_realistic", "mpi3d_real")


def _grid(sizes):
  """All factor tuples of a C-ordered grid: [prod(sizes), len(sizes)] int64."""
  return np.indices(sizes).reshape(len(sizes), -1).T.astype(np.int64)


def _flat(factors, sizes):
  return np.ravel_multi_index(tuple(np.asarray(factors).T), sizes)


@pytest.fixture(name="data_root")
def fixture_data_root(tmp_path, monkeypatch):
  monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
  return tmp_path


# ----------------------------------------------------------------------------- dSprites

DSPRITES_SIZES = (1, 3, 2, 2, 2, 2)  # colour, shape, scale, orientation, x, y


def _dsprites_images(num):
  """[num, 64, 64] uint8 masks: the row index in binary along row 0, a blob in the middle."""
  images = np.zeros((num, 64, 64), dtype=np.uint8)
  bits = (np.arange(num)[:, None] >> np.arange(8)[None, :]) & 1
  images[:, 0, :8] = bits
  images[:, 30:34, 30:34] = 1
  return images


def _decode_dsprites_index(observations):
  """Row index encoded by `_dsprites_images`, from [num, 64, 64, C] observations."""
  bits = observations[:, 0, :8, 0] > 0.99  # sprite pixels are 1 in every variant
  return (bits * (1 << np.arange(8))[None, :]).sum(axis=1)


def _write_dsprites(root, images=None):
  classes = _grid(DSPRITES_SIZES)
  images = _dsprites_images(len(classes)) if images is None else images
  folder = root / "dsprites"
  folder.mkdir(exist_ok=True)
  np.savez_compressed(
      folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", imgs=images,
      latents_classes=classes, latents_values=classes.astype(np.float64),
      metadata=np.array({"latents_sizes": np.array(DSPRITES_SIZES)}, dtype=object))


@pytest.fixture(name="dsprites_root")
def fixture_dsprites_root(data_root, monkeypatch):
  monkeypatch.setattr(dsprites, "_ROWS_PER_CHUNK", 7)  # several streamed chunks
  _write_dsprites(data_root)
  return data_root


def test_dsprites_full_factors_and_images(dsprites_root):
  data = named_data.get_named_ground_truth_data("dsprites_full")
  assert data.num_factors == 5
  assert data.factors_num_values == [3, 2, 2, 2, 2]
  assert data.factor_names == ["shape", "scale", "orientation", "pos_x", "pos_y"]
  assert data.observation_shape == [64, 64, 1]
  factors, images = data.sample(40, np.random.RandomState(0))
  assert images.shape == (40, 64, 64, 1) and images.dtype == np.float32
  assert set(np.unique(images)) == {0.0, 1.0}
  full = np.concatenate([np.zeros((40, 1), np.int64), factors], axis=1)
  np.testing.assert_array_equal(_decode_dsprites_index(images), _flat(full, DSPRITES_SIZES))


def test_dsprites_random_stream_is_dlibs(dsprites_root):
  """dsprites_noshape: 4 latent draws, then shape and colour in factor order."""
  data = dsprites.DSprites([2, 3, 4, 5])
  random_state = np.random.RandomState(5)
  factors, images = data.sample(30, random_state)
  reference = np.random.RandomState(5)
  expected_latents = np.stack([reference.randint(2, size=30) for _ in range(4)], axis=1)
  colour = reference.randint(1, size=30)
  shape = reference.randint(3, size=30)
  np.testing.assert_array_equal(factors, expected_latents)
  full = np.column_stack([colour, shape, expected_latents])
  np.testing.assert_array_equal(_decode_dsprites_index(images), _flat(full, DSPRITES_SIZES))
  assert random_state.randint(10**6) == reference.randint(10**6)


def test_color_and_noisy_dsprites_follow_dlibs_definition(dsprites_root):
  factors = np.array([[0, 0, 0, 0, 0], [2, 1, 1, 1, 1], [1, 0, 1, 0, 1]])
  masks = dsprites.DSprites([1, 2, 3, 4, 5]).sample_observations_from_factors(
      factors, np.random.RandomState(0))

  color = dsprites.ColorDSprites([1, 2, 3, 4, 5])
  assert color.observation_shape == [64, 64, 3]
  observed = color.sample_observations_from_factors(factors, np.random.RandomState(3))
  reference = np.random.RandomState(3)
  reference.randint(1, size=3)  # colour factor of dSprites
  tint = reference.uniform(0.5, 1, [3, 1, 1, 3])
  np.testing.assert_array_equal(observed, (masks * tint).astype(np.float32))
  assert observed.dtype == np.float32 and observed.min() == 0 and observed.max() <= 1

  noisy = dsprites.NoisyDSprites([1, 2, 3, 4, 5])
  observed = noisy.sample_observations_from_factors(factors, np.random.RandomState(4))
  reference = np.random.RandomState(4)
  reference.randint(1, size=3)
  noise = reference.uniform(0, 1, [3, 64, 64, 3])
  np.testing.assert_array_equal(observed, np.minimum(masks + noise, 1.).astype(np.float32))
  assert np.all(observed[masks[..., 0] == 1] == 1)


def test_scream_dsprites_inverts_a_random_patch(dsprites_root):
  picture = np.random.RandomState(0).randint(0, 256, size=(90, 110, 3)).astype(np.uint8)
  (dsprites_root / "scream").mkdir()
  Image.fromarray(picture).save(dsprites_root / "scream" / "scream.jpg", quality=95)
  data = named_data.get_named_ground_truth_data("scream_dsprites")
  assert data.scream.shape == (90, 110, 3)  # smaller than the bound: not resized
  factors = data.sample_factors(6, np.random.RandomState(1))
  masks = dsprites.DSprites([1, 2, 3, 4, 5]).sample_observations_from_factors(
      factors, np.random.RandomState(0))[..., 0]
  observed = data.sample_observations_from_factors(factors, np.random.RandomState(2))
  # dlib's definition, image by image.
  reference = np.random.RandomState(2)
  reference.randint(1, size=6)
  for i in range(6):
    row = reference.randint(0, 90 - 64)
    col = reference.randint(0, 110 - 64)
    background = (data.scream[row:row + 64, col:col + 64] + reference.uniform(0, 1, size=3)) / 2.
    expected = np.where(masks[i][..., None] == 1, 1 - background, background)
    np.testing.assert_array_equal(observed[i], expected.astype(np.float32))
  assert observed.shape == (6, 64, 64, 3) and 0 <= observed.min() and observed.max() <= 1


def test_scream_picture_is_shrunk_like_old_pillow_thumbnail(tmp_path):
  path = tmp_path / "big.jpg"
  Image.fromarray(np.full((548, 700, 3), 200, dtype=np.uint8)).save(path)
  scream = dsprites.load_scream(str(path))
  assert scream.shape == (274, 350, 3)  # width 700 -> 350, height 548 * 350 / 700
  assert dsprites._legacy_thumbnail_size((1000, 1253), (350, 274)) == (218, 274)
  np.testing.assert_allclose(scream, 200 / 255., atol=2 / 255.)


def test_dsprites_rejects_non_binary_images(data_root):
  images = _dsprites_images(int(np.prod(DSPRITES_SIZES)))
  images[3, 5, 5] = 7
  _write_dsprites(data_root, images)
  with pytest.raises(ValueError, match="binary"):
    dsprites.DSprites([1, 2, 3, 4, 5])


def test_scream_dsprites_missing_picture_is_reported(dsprites_root):
  with pytest.raises(paths.DatasetFileNotFoundError) as error:
    dsprites.ScreamDSprites([1, 2, 3, 4, 5])
  message = str(error.value)
  assert os.path.join(str(dsprites_root), "scream", "scream.jpg") in message
  assert "DISENTANGLEMENT_LIB_DATA" in message and "The_Scream.jpg" in message


# ----------------------------------------------------------------------------- SmallNORB

NORB_SIZES = (2, 2, 2, 3, 2)  # category, instance, elevation, azimuth, lighting
_NORB_MAGIC = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}


def _write_norb_matrix(path, array):
  """NORB binary matrix: magic, ndim, max(3, ndim) dims, little-endian data."""
  array = np.ascontiguousarray(array)
  dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
  header = np.array([_NORB_MAGIC[array.dtype], array.ndim] + dims, dtype="<i4")
  with open(path, "wb") as handle:
    handle.write(header.tobytes())
    handle.write(array.astype(array.dtype.newbyteorder("<")).tobytes())


def _norb_intensity(flat_index):
  return 5 * flat_index + 3  # up to 238: exercises bytes above 127 (read as int8 by dlib)


@pytest.fixture(name="norb_root")
def fixture_norb_root(data_root, monkeypatch):
  monkeypatch.setattr(norb, "FACTOR_SIZES", NORB_SIZES)
  folder = data_root / "small_norb"
  folder.mkdir()
  features = _grid(NORB_SIZES)
  order = np.random.RandomState(0).permutation(len(features))  # rows in arbitrary order
  features = features[order]
  for chunk, instance in zip(norb.CHUNKS, (0, 1)):  # the real chunks split by instance
    rows = features[features[:, 1] == instance]
    stereo = np.zeros((len(rows), 2, 96, 96), dtype=np.uint8)
    stereo[:, 0] = _norb_intensity(_flat(rows, NORB_SIZES))[:, None, None]
    stereo[:, 1] = 255  # right camera: must not be used
    info = np.column_stack([rows[:, 1], rows[:, 2], 2 * rows[:, 3], rows[:, 4]])
    _write_norb_matrix(folder / f"smallnorb-{chunk}-dat.mat", stereo)
    _write_norb_matrix(folder / f"smallnorb-{chunk}-cat.mat", rows[:, 0].astype(np.int32))
    _write_norb_matrix(folder / f"smallnorb-{chunk}-info.mat", info.astype(np.int32))
  return data_root


def test_read_binary_matrix_round_trip(tmp_path):
  values = np.arange(24, dtype=np.int32).reshape(6, 4) - 5
  _write_norb_matrix(tmp_path / "m.mat", values)
  np.testing.assert_array_equal(norb.read_binary_matrix(str(tmp_path / "m.mat")), values)
  vector = np.array([4, 1, 3], dtype=np.int32)  # 1-D: the header still holds 3 dims
  _write_norb_matrix(tmp_path / "v.mat", vector)
  np.testing.assert_array_equal(norb.read_binary_matrix(str(tmp_path / "v.mat")), vector)
  bytes_ = np.array([[0, 127, 128, 255]], dtype=np.uint8)
  _write_norb_matrix(tmp_path / "b.mat", bytes_)
  np.testing.assert_array_equal(norb.read_binary_matrix(str(tmp_path / "b.mat")),
                                bytes_.view(np.int8))  # dlib's int8 reading
  (tmp_path / "bad.mat").write_bytes(b"\x00" * 32)
  with pytest.raises(ValueError, match="NORB binary matrix"):
    norb.read_binary_matrix(str(tmp_path / "bad.mat"))


def test_smallnorb_factors_and_images(norb_root):
  data = named_data.get_named_ground_truth_data("smallnorb")
  assert data.num_factors == 4
  assert data.factors_num_values == [2, 2, 3, 2]
  assert data.factor_names == ["category", "elevation", "azimuth", "lighting"]
  assert data.observation_shape == [64, 64, 1]
  random_state = np.random.RandomState(1)
  factors, images = data.sample(50, random_state)
  assert images.shape == (50, 64, 64, 1) and images.dtype == np.float32
  # Stream: 4 latent draws, then the instance.
  reference = np.random.RandomState(1)
  expected = np.stack([reference.randint(s, size=50) for s in (2, 2, 3, 2)], axis=1)
  instance = reference.randint(2, size=50)
  np.testing.assert_array_equal(factors, expected)
  full = np.column_stack([factors[:, 0], instance, factors[:, 1:]])
  intensity = _norb_intensity(_flat(full, NORB_SIZES))
  # A flat picture stays flat through the LANCZOS resize.
  np.testing.assert_array_equal(
      images, np.broadcast_to((intensity / 255.).astype(np.float32)[:, None, None, None],
                              images.shape))
  assert 0 <= images.min() and images.max() <= 1


def test_smallnorb_resize_keeps_dlibs_unclipped_overshoot():
  """int8 bytes -> 32-bit Pillow image: values above 127 stay positive, edges overshoot."""
  step = np.zeros((1, 96, 96), dtype=np.uint8)
  step[:, :, 48:] = 255
  resized = norb.resize_like_dlib(step.view(np.int8))
  assert resized.shape == (1, 64, 64)
  np.testing.assert_array_equal(resized[0, :, :5], 0)
  np.testing.assert_array_equal(resized[0, :, -5:], 255)
  assert resized.min() < 0 and resized.max() > 255  # LANCZOS ringing, not clipped


def test_smallnorb_incomplete_grid_is_rejected(norb_root):
  chunk = norb.CHUNKS[1]
  path = norb_root / "small_norb" / f"smallnorb-{chunk}-cat.mat"
  categories = np.array(norb.read_binary_matrix(str(path)))
  _write_norb_matrix(path, np.zeros_like(categories))
  with pytest.raises(ValueError, match="cover the whole state space"):
    norb.SmallNORB()


# ----------------------------------------------------------------------------- Cars3D

CARS_SIZES = (2, 3, 3)  # elevation, azimuth, object


def _car_colour(elevation, azimuth, car):
  return np.array([40 * elevation + 10, 30 * azimuth + 10, 50 * car + 10])


@pytest.fixture(name="cars_root")
def fixture_cars_root(data_root, monkeypatch):
  monkeypatch.setattr(cars3d, "FACTOR_SIZES", CARS_SIZES)
  folder = data_root / "cars"
  folder.mkdir()
  (folder / "list.txt").write_text("not a car\n")
  for car in range(3):
    mesh = np.zeros((128, 128, 3, 3, 2), dtype=np.uint8)  # [H, W, RGB, azimuth, elevation]
    for azimuth in range(3):
      for elevation in range(2):
        mesh[:, :, :, azimuth, elevation] = _car_colour(elevation, azimuth, car)
    scipy.io.savemat(folder / f"car_{car + 1:03d}_mesh.mat", {"im": mesh})
  return data_root


def test_cars3d_factors_and_images(cars_root):
  data = named_data.get_named_ground_truth_data("cars3d")
  assert data.num_factors == 3 and data.factors_num_values == [2, 3, 3]
  assert data.factor_names == ["elevation", "azimuth", "object_type"]
  assert data.observation_shape == [64, 64, 3]
  random_state = np.random.RandomState(2)
  factors, images = data.sample(30, random_state)
  reference = np.random.RandomState(2)
  np.testing.assert_array_equal(
      factors, np.stack([reference.randint(s, size=30) for s in CARS_SIZES], axis=1))
  assert images.shape == (30, 64, 64, 3) and images.dtype == np.float32
  colours = np.stack([_car_colour(*f) for f in factors])
  expected = (colours / 255.).astype(np.float32)[:, None, None, :]
  np.testing.assert_array_equal(images, np.broadcast_to(expected, images.shape))


def test_cars3d_wrong_number_of_files(cars_root):
  os.remove(cars_root / "cars" / "car_002_mesh.mat")
  with pytest.raises(paths.DatasetFileNotFoundError, match="expected 3 car .mat files"):
    cars3d.Cars3D()


def test_cars3d_wrong_array_shape(cars_root):
  scipy.io.savemat(cars_root / "cars" / "car_002_mesh.mat",
                   {"im": np.zeros((128, 128, 3, 4, 2), dtype=np.uint8)})
  with pytest.raises(ValueError, match=r"'im' must be uint8 \[H, H, 3, 3, 2\]"):
    cars3d.Cars3D()


# ----------------------------------------------------------------------------- Shapes3D / MPI3D

SHAPES_SIZES = (2, 2, 2, 2, 2, 3)
MPI_SIZES = (2, 2, 1, 1, 1, 3, 3)


def _coded_images(sizes):
  """uint8 [*sizes, 64, 64, 3]; pixel (0, 0) holds (flat index, 255 - index, 7)."""
  num = int(np.prod(sizes))
  images = np.zeros((num, 64, 64, 3), dtype=np.uint8)
  images[:, 0, 0, 0] = np.arange(num)
  images[:, 0, 0, 1] = 255 - np.arange(num)
  images[:, 1:, :, 2] = 7
  return images.reshape(tuple(sizes) + (64, 64, 3))


def _check_coded(images, factors, sizes):
  flat = _flat(factors, sizes)
  np.testing.assert_array_equal(images[:, 0, 0, 0], (flat.astype(np.float32) / np.float32(255)))
  np.testing.assert_array_equal(images[:, 0, 0, 1], ((255 - flat) / 255.).astype(np.float32))
  assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1


@pytest.mark.parametrize("compressed", [False, True])
def test_shapes3d_factors_and_images(data_root, monkeypatch, compressed):
  monkeypatch.setattr(shapes3d, "FACTOR_SIZES", SHAPES_SIZES)
  folder = data_root / shapes3d.RELATIVE_PATH[0]
  folder.mkdir()
  save = np.savez_compressed if compressed else np.savez
  save(folder / shapes3d.RELATIVE_PATH[1], images=_coded_images(SHAPES_SIZES),
       labels=_grid(SHAPES_SIZES).astype(np.float64).reshape(SHAPES_SIZES + (6,)))
  data = named_data.get_named_ground_truth_data("shapes3d")
  assert isinstance(data.images, np.memmap) != compressed  # uncompressed: memory-mapped
  assert data.factors_num_values == list(SHAPES_SIZES) and data.num_factors == 6
  assert data.factor_names[0] == "floor_hue" and data.observation_shape == [64, 64, 3]
  random_state = np.random.RandomState(3)
  factors, images = data.sample(40, random_state)
  reference = np.random.RandomState(3)
  np.testing.assert_array_equal(
      factors, np.stack([reference.randint(s, size=40) for s in SHAPES_SIZES], axis=1))
  _check_coded(images, factors, SHAPES_SIZES)


@pytest.mark.parametrize("mode", ["mpi3d_toy", "mpi3d_realistic", "mpi3d_real"])
def test_mpi3d_factors_and_images(data_root, monkeypatch, mode):
  monkeypatch.setitem(mpi3d.FACTOR_SIZES, mode, MPI_SIZES)
  (data_root / mode).mkdir()
  np.savez(data_root / mode / f"{mode}.npz",
           images=_coded_images(MPI_SIZES).reshape(-1, 64, 64, 3))
  data = named_data.get_named_ground_truth_data(mode)
  assert data.factors_num_values == list(MPI_SIZES) and data.num_factors == 7
  assert data.factor_names[-1] == "second_dof" and data.observation_shape == [64, 64, 3]
  factors, images = data.sample(40, np.random.RandomState(4))
  _check_coded(images, factors, MPI_SIZES)


def test_mpi3d_default_sizes_and_bad_inputs(data_root, monkeypatch):
  assert mpi3d.FACTOR_SIZES["mpi3d_toy"] == (4, 4, 2, 3, 3, 40, 40)
  assert mpi3d.FACTOR_SIZES["mpi3d_real"] == (6, 6, 2, 3, 3, 40, 40)
  with pytest.raises(ValueError, match="Unknown MPI3D mode 'mpi3d_fake'"):
    mpi3d.MPI3D("mpi3d_fake")
  monkeypatch.setitem(mpi3d.FACTOR_SIZES, "mpi3d_toy", MPI_SIZES)
  (data_root / "mpi3d_toy").mkdir()
  np.savez(data_root / "mpi3d_toy" / "mpi3d_toy.npz", images=np.zeros((5, 64, 64, 3), np.uint8))
  with pytest.raises(ValueError, match=r"expected 36 images of shape \(64, 64, 3\)"):
    mpi3d.MPI3D("mpi3d_toy")


# ----------------------------------------------------------------------------- .npz helpers

def test_npz_reader_memory_maps_and_streams(tmp_path):
  values = np.arange(5 * 3 * 2, dtype=np.int16).reshape(5, 3, 2)
  np.savez(tmp_path / "plain.npz", first=np.ones(3), values=values)
  np.savez_compressed(tmp_path / "packed.npz", values=values)
  mapped = mpi3d.load_npz_array(str(tmp_path / "plain.npz"), "values")
  assert isinstance(mapped, np.memmap)
  np.testing.assert_array_equal(mapped, values)
  np.testing.assert_array_equal(mpi3d.load_npz_array(str(tmp_path / "packed.npz"), "values"),
                                values)
  for name in ("plain.npz", "packed.npz"):
    blocks = [block for _, block in mpi3d.iter_npz_array_chunks(str(tmp_path / name),
                                                                 "values", 2)]
    assert [len(b) for b in blocks] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(blocks), values)
  with pytest.raises(ValueError, match="has no array named 'images'.*first, values"):
    mpi3d.load_npz_array(str(tmp_path / "plain.npz"), "images")
  np.savez(tmp_path / "objects.npz", values=np.array([{"a": 1}], dtype=object))
  with pytest.raises(ValueError, match="Python objects"):
    mpi3d.load_npz_array(str(tmp_path / "objects.npz"), "values")


# ----------------------------------------------------------------------------- missing files

_EXPECTED_MISSING = {
    "dsprites_full": "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    "dsprites_noshape": "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    "color_dsprites": "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    "noisy_dsprites": "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    "scream_dsprites": "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    "smallnorb": "small_norb/smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat",
    "cars3d": "cars",
    "shapes3d": ("3dshapes/look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-"
                 "shapeXview-azi.npz"),
    "mpi3d_toy": "mpi3d_toy/mpi3d_toy.npz",
    "mpi3d_realistic": "mpi3d_realistic/mpi3d_realistic.npz",
    "mpi3d_real": "mpi3d_real/mpi3d_real.npz",
}


@pytest.mark.parametrize("name", REAL_DATASETS)
def test_missing_files_name_the_file_and_the_variable(data_root, name):
  with pytest.raises(paths.DatasetFileNotFoundError) as error:
    named_data.get_named_ground_truth_data(name)
  message = str(error.value)
  assert os.path.join(str(data_root), *_EXPECTED_MISSING[name].split("/")) in message
  assert "DISENTANGLEMENT_LIB_DATA" in message
  assert "http" in message  # tells where to get it


def test_visualize_dataset_cli_reads_a_real_format_file(data_root, monkeypatch, tmp_path):
  from infofrag.cli import visualize_dataset
  monkeypatch.setitem(mpi3d.FACTOR_SIZES, "mpi3d_toy", MPI_SIZES)
  (data_root / "mpi3d_toy").mkdir()
  np.savez(data_root / "mpi3d_toy" / "mpi3d_toy.npz",
           images=_coded_images(MPI_SIZES).reshape(-1, 64, 64, 3))
  output = tmp_path / "figures"
  assert visualize_dataset.main(["--dataset", "mpi3d_toy", "--output_dir", str(output),
                                 "--num_samples", "4"]) == 0
  assert any(name.endswith(".png") for name in os.listdir(output))
  empty = tmp_path / "empty"
  empty.mkdir()
  monkeypatch.setenv(paths.ENV_VAR, str(empty))
  assert visualize_dataset.main(["--dataset", "shapes3d", "--output_dir", str(output)]) == 2
