"""Boundary checks shared by the array-level metric functions."""

import numpy as np


def as_point_matrix(array, name, dtype=np.float64):
  """Returns `array` as a finite 2-D [num_points, num_columns] array of `dtype`.

  Args:
    array: array-like, one row per data point.
    name: argument name used in error messages (e.g. "mus_train").
    dtype: output dtype; None keeps the input's dtype (used where dlib's binning
      depends on it).

  Raises:
    ValueError: wrong rank, no points or columns, or NaN/inf entries.
  """
  array = np.asarray(array)
  if array.ndim != 2:
    raise ValueError(f"{name} must be 2-D [num_points, num_columns] (one row per data point), "
                     f"got shape {array.shape}.")
  if array.shape[0] == 0:
    raise ValueError(f"{name} has no data points (shape {array.shape}); num_points must be > 0.")
  if array.shape[1] == 0:
    raise ValueError(f"{name} has no columns (shape {array.shape}).")
  if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
    raise ValueError(f"{name} must be numeric, got dtype {array.dtype}.")
  if dtype is not None:
    array = array.astype(dtype, copy=False)
  if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
    bad = int(np.sum(~np.isfinite(array)))
    raise ValueError(f"{name} contains {bad} NaN or infinite value(s); metrics need finite "
                     "representations and factors.")
  return array


def check_same_points(first, first_name, second, second_name):
  """Raises if two [num_points, ...] arrays disagree on num_points."""
  if first.shape[0] != second.shape[0]:
    raise ValueError(f"{first_name} has {first.shape[0]} points but {second_name} has "
                     f"{second.shape[0]}; they must describe the same data points, row by row.")


def check_same_columns(first, first_name, second, second_name):
  """Raises if train and test arrays disagree on the number of columns."""
  if first.shape[1] != second.shape[1]:
    raise ValueError(f"{first_name} has {first.shape[1]} columns but {second_name} has "
                     f"{second.shape[1]}; train and test must have the same codes/factors.")


def check_min_columns(array, name, minimum, metric):
  if array.shape[1] < minimum:
    raise ValueError(f"{metric} needs at least {minimum} columns in {name}, got "
                     f"{array.shape[1]}.")


def train_test_arrays(mus_train, ys_train, mus_test, ys_test, factor_dtype=np.float64):
  """Validates the four arrays of a train/test metric; returns them converted."""
  mus_train = as_point_matrix(mus_train, "mus_train")
  ys_train = as_point_matrix(ys_train, "ys_train", factor_dtype)
  mus_test = as_point_matrix(mus_test, "mus_test")
  ys_test = as_point_matrix(ys_test, "ys_test", factor_dtype)
  check_same_points(mus_train, "mus_train", ys_train, "ys_train")
  check_same_points(mus_test, "mus_test", ys_test, "ys_test")
  check_same_columns(mus_train, "mus_train", mus_test, "mus_test")
  check_same_columns(ys_train, "ys_train", ys_test, "ys_test")
  return mus_train, ys_train, mus_test, ys_test


def check_positive_int(value, name):
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive integer, got {value!r}.")
  return int(value)
