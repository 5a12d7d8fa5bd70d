"""Embedded datasets (synthetic_dsprites, circle, dummy_data), dataset selection, visualisation."""

import os
import subprocess
import sys

import gin
import numpy as np
import pytest

from infofrag.data import named_data
from infofrag.data.ground_truth import paths
from infofrag.data.ground_truth import synthetic_dsprites


@pytest.fixture(name="sprites")
def fixture_sprites():
  return named_data.get_named_ground_truth_data("synthetic_dsprites")


def _centroid(image):
  """(row, column) centre of mass of a [64, 64, 1] image."""
  mass = image[..., 0]
  rows, cols = np.nonzero(mass)
  return rows.mean(), cols.mean()


def test_synthetic_dsprites_factor_structure(sprites):
  assert sprites.num_factors == 5
  assert sprites.factors_num_values == [3, 6, 40, 32, 32]
  assert sprites.observation_shape == [64, 64, 1]
  factors, images = sprites.sample(50, np.random.RandomState(0))
  assert factors.shape == (50, 5) and images.shape == (50, 64, 64, 1)
  assert images.dtype == np.float32
  assert set(np.unique(images)) <= {0.0, 1.0}
  # Every sprite is visible and no sprite touches the image border.
  assert np.all(images.sum(axis=(1, 2, 3)) > 5)
  assert images[:, [0, -1], :, :].sum() == 0 and images[:, :, [0, -1], :].sum() == 0


def test_synthetic_dsprites_is_deterministic_per_factor_tuple(sprites):
  factors = sprites.sample_factors(200, np.random.RandomState(3))
  first = sprites.sample_observations_from_factors(factors, np.random.RandomState(1))
  second = sprites.sample_observations_from_factors(factors, np.random.RandomState(2))
  np.testing.assert_array_equal(first, second)
  # Rendering in one call or image by image gives the same pixels.
  single = np.concatenate([sprites.sample_observations_from_factors(f[None], np.random.RandomState(0))
                           for f in factors[:20]])
  np.testing.assert_array_equal(first[:20], single)


def test_random_stream_matches_dlib_dsprites_state_space(sprites):
  """Same draws as dlib's DSprites(latent_factor_indices=[1..5]): 5 latent randints, then colour."""
  random_state = np.random.RandomState(7)
  factors, _ = sprites.sample(10, random_state)
  after = random_state.randint(1000, size=3)
  reference = np.random.RandomState(7)
  expected = np.stack([reference.randint(size, size=10) for size in [3, 6, 40, 32, 32]], axis=1)
  reference.randint(1, size=10)  # dSprites' constant colour factor
  np.testing.assert_array_equal(factors, expected)
  np.testing.assert_array_equal(after, reference.randint(1000, size=3))


def test_changing_any_factor_changes_the_image(sprites):
  base = np.array([[0, 3, 5, 10, 20]])
  reference = sprites.sample_observations_from_factors(base, np.random.RandomState(0))[0]
  for factor_index, new_value in enumerate([1, 5, 13, 11, 21]):
    changed = base.copy()
    changed[0, factor_index] = new_value
    image = sprites.sample_observations_from_factors(changed, np.random.RandomState(0))[0]
    assert np.abs(image - reference).sum() > 0, f"factor {factor_index} had no effect"


def test_positions_move_the_centroid_along_their_axis(sprites):
  factors = np.array([[1, 5, 0, x, 16] for x in range(32)])
  images = sprites.sample_observations_from_factors(factors, np.random.RandomState(0))
  centroids = np.array([_centroid(image) for image in images])
  assert np.all(np.diff(centroids[:, 1]) > 0)  # x moves right monotonically
  assert np.ptp(centroids[:, 0]) < 1.0  # ... and the row stays put
  assert 30 < centroids[-1, 1] - centroids[0, 1] < 40
  factors = np.array([[1, 5, 0, 16, y] for y in range(32)])
  images = sprites.sample_observations_from_factors(factors, np.random.RandomState(0))
  centroids = np.array([_centroid(image) for image in images])
  assert np.all(np.diff(centroids[:, 0]) > 0)  # y moves down monotonically
  assert np.ptp(centroids[:, 1]) < 1.0


def test_scale_grows_area_and_shapes_differ(sprites):
  factors = np.array([[shape, scale, 0, 16, 16] for shape in range(3) for scale in range(6)])
  images = sprites.sample_observations_from_factors(factors, np.random.RandomState(0))
  areas = images.sum(axis=(1, 2, 3)).reshape(3, 6)
  assert np.all(np.diff(areas, axis=1) > 0)
  # Unrotated square fills its bounding box, the ellipse ~pi/4 of it, the heart less than the square.
  def fill_ratio(image):
    rows, cols = np.nonzero(image[..., 0])
    return image.sum() / ((np.ptp(rows) + 1) * (np.ptp(cols) + 1))
  square, ellipse, heart = (fill_ratio(images[5]), fill_ratio(images[11]), fill_ratio(images[17]))
  assert square > 0.95
  assert 0.65 < ellipse < 0.9
  assert heart < 0.9
  # The ellipse is elongated: about twice as wide as high at orientation 0.
  rows, cols = np.nonzero(images[11][..., 0])
  aspect = (np.ptp(cols) + 1) / (np.ptp(rows) + 1)
  assert aspect > 1.6 and aspect < 2.6


def test_orientation_rotates_the_ellipse(sprites):
  # Orientation index 10 of 40 (over [0, 2 pi], ends included) is close to 90 degrees.
  factors = np.array([[1, 5, 0, 16, 16], [1, 5, 10, 16, 16]])
  images = sprites.sample_observations_from_factors(factors, np.random.RandomState(0))
  extents = [(np.ptp(np.nonzero(im[..., 0])[0]), np.ptp(np.nonzero(im[..., 0])[1])) for im in images]
  assert extents[0][1] > extents[0][0] and extents[1][0] > extents[1][1]
  # First and last orientation (0 and 2 pi) render the same sprite, as in dSprites.
  ends = sprites.sample_observations_from_factors(np.array([[2, 5, 0, 9, 9], [2, 5, 39, 9, 9]]),
                                                  np.random.RandomState(0))
  assert np.abs(ends[0] - ends[1]).sum() <= 4


def test_rendering_rejects_bad_factors(sprites):
  with pytest.raises(ValueError, match="out of range"):
    sprites.sample_observations_from_factors(np.array([[3, 0, 0, 0, 0]]), np.random.RandomState(0))
  with pytest.raises(ValueError, match="shape"):
    sprites.sample_observations_from_factors(np.zeros((2, 4), dtype=int), np.random.RandomState(0))


def test_circle_points_and_factor():
  circle = named_data.get_named_ground_truth_data("circle")
  assert circle.num_factors == 1 and circle.factors_num_values == [200]
  assert circle.observation_shape == [2]
  factors, points = circle.sample(100, np.random.RandomState(0))
  np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-6)
  np.testing.assert_allclose(np.arctan2(points[:, 1], points[:, 0]) % (2 * np.pi),
                             2 * np.pi * factors[:, 0] / 200, atol=1e-5)


def test_circle_num_angles_is_gin_configurable():
  with gin.unlock_config():
    gin.parse_config(["circle.num_angles = 12"])
  try:
    assert named_data.get_named_ground_truth_data("circle").factors_num_values == [12]
  finally:
    gin.clear_config()


def test_dummy_data_matches_dlib_shapes():
  dummy = named_data.get_named_ground_truth_data("dummy_data")
  factors, images = dummy.sample(4, np.random.RandomState(0))
  assert factors.shape == (4, 10) and factors.max() < 5
  assert images.shape == (4, 64, 64, 1)


def test_dataset_name_from_gin_binding():
  with gin.unlock_config():
    gin.parse_config(["dataset.name = 'circle'"])
  try:
    assert named_data.get_named_ground_truth_data().observation_shape == [2]
  finally:
    gin.clear_config()


def test_unknown_and_missing_dataset_names_are_clear():
  with pytest.raises(ValueError, match=r"Unknown dataset name 'dsprite'.*synthetic_dsprites"):
    named_data.get_named_ground_truth_data("dsprite")
  with pytest.raises(ValueError, match="dataset.name"):
    named_data.get_named_ground_truth_data()


def test_missing_data_file_error_names_file_folder_and_variable(tmp_path, monkeypatch):
  monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
  with pytest.raises(paths.DatasetFileNotFoundError) as error:
    paths.dataset_path("dsprites", "file.npz", dataset="dsprites_full", how_to_obtain="Get it.")
  message = str(error.value)
  assert os.path.join(str(tmp_path), "dsprites", "file.npz") in message
  assert "DISENTANGLEMENT_LIB_DATA" in message and "Get it." in message


def test_render_10000_images_is_fast():
  """Rendering must not dominate training: 10,000 images in well under a second of numpy."""
  import time
  factors = synthetic_dsprites.SyntheticDSprites().sample_factors(10000, np.random.RandomState(0))
  synthetic_dsprites.render(*factors[:100].T)  # warm-up
  start = time.perf_counter()
  images = synthetic_dsprites.render(*factors.T)
  seconds = time.perf_counter() - start
  assert images.shape == (10000, 64, 64, 1)
  # Generous bound for a loaded CI machine; typical is ~0.2 s.
  assert seconds < 3.0, f"rendering took {seconds:.2f} s"


def test_visualize_dataset_cli_writes_pngs(tmp_path):
  out = tmp_path / "vis"
  result = subprocess.run(
      [sys.executable, "-m", "infofrag.cli.visualize_dataset", "--dataset=synthetic_dsprites",
       f"--output_dir={out}", "--num_samples=16"], capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  names = sorted(os.listdir(out))
  assert names == sorted(["samples.png"] + [f"traversal_{n}.png" for n in
                                           ["shape", "scale", "orientation", "pos_x", "pos_y"]])
  import matplotlib.image
  grid = matplotlib.image.imread(out / "traversal_pos_x.png")
  assert grid.shape[1] == 32 * 66 - 2  # 32 positions of 64 px with 2 px padding
  assert "tensorflow" not in result.stderr.lower()


def test_visualize_dataset_cli_unknown_name_fails_cleanly(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "infofrag.cli.visualize_dataset", "--dataset=nope",
       f"--output_dir={tmp_path}"], capture_output=True, text=True, check=False)
  assert result.returncode == 2
  assert "Unknown dataset name 'nope'" in result.stderr


def test_circle_trains_on_fresh_angles_but_evaluates_on_its_grid():
  data = named_data.get_named_ground_truth_data("circle")
  grid = data.sample_observations(500, np.random.RandomState(0))
  angles = np.mod(np.arctan2(grid[:, 1], grid[:, 0]), 2 * np.pi) * data.num_angles / (2 * np.pi)
  np.testing.assert_allclose(angles, np.round(angles), atol=1e-3)  # on the 200-angle grid
  fresh = data.sample_training_observations(2000, np.random.RandomState(0))
  np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, atol=1e-6)
  angles = np.mod(np.arctan2(fresh[:, 1], fresh[:, 0]), 2 * np.pi) * data.num_angles / (2 * np.pi)
  assert np.mean(np.abs(angles - np.round(angles)) > 0.01) > 0.9  # almost never on the grid
  assert np.histogram(angles, bins=4, range=(0, data.num_angles))[0].min() > 400  # uniform


def test_synthetic_dsprites_32_is_the_64_pixel_sprite_pooled():
  full = named_data.get_named_ground_truth_data("synthetic_dsprites")
  small = named_data.get_named_ground_truth_data("synthetic_dsprites_32")
  assert small.observation_shape == [32, 32, 1]
  assert small.factors_num_values == full.factors_num_values
  factors, images = small.sample(20, np.random.RandomState(3))
  same_factors, big = full.sample(20, np.random.RandomState(3))
  np.testing.assert_array_equal(factors, same_factors)  # same random stream as dsprites_full
  np.testing.assert_allclose(images, big.reshape(20, 32, 2, 32, 2, 1).mean(axis=(2, 4)), atol=1e-6)
  assert set(np.unique(images)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
