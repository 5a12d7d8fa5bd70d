"""Argument checks shared by every infofrag package: one helper per check, uniform messages.

Each helper returns its argument converted (``int``, ``float``, float64 arrays, ...) or
raises ``ValueError`` with a one-line message that names the argument (or command-line
flag) and says what is expected, e.g. ``"steps must be an integer >= 0; got -1."``.
Pure numpy: importing this module never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# Tolerance on a fingerprint's diagonal: a point's distance to itself must be 0 (D_ii = 0).
_DIAGONAL_TOLERANCE = 1e-6


def _is_integer(value: Any) -> bool:
  return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int_range(value: Any, *, name: str, minimum: int, maximum: int | None = None,
                    error: type[ValueError] = ValueError) -> int:
  """Checks that `value` is an integer in [minimum, maximum] and returns it as ``int``.

  Parameters
  ----------
  value : int
    The value to check; bools and floats are rejected.
  name : str
    Argument or flag name used in the message (e.g. ``"steps"``, ``"--processes"``).
  minimum : int
    Smallest allowed value.
  maximum : int or None, optional
    Largest allowed value (inclusive); None means no upper bound.
  error : type of ValueError, optional
    Exception class raised (a subclass of ValueError such as a package's own error).

  Returns
  -------
  int
    `value` as a Python int.
  """
  inside = _is_integer(value) and value >= minimum and (maximum is None or value <= maximum)
  if not inside:
    expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise error(f"{name} must be an integer {expected}; got {value!r}.")
  return int(value)


def check_positive_int(value: Any, *, name: str, error: type[ValueError] = ValueError) -> int:
  """Checks that `value` is an integer >= 1 and returns it as ``int``.

  Parameters
  ----------
  value : int
    The value to check; bools and floats are rejected.
  name : str
    Argument or flag name used in the message.
  error : type of ValueError, optional
    Exception class raised.

  Returns
  -------
  int
    `value` as a Python int.
  """
  if not (_is_integer(value) and value >= 1):
    raise error(f"{name} must be a positive integer; got {value!r}.")
  return int(value)


def check_positive_float(value: Any, *, name: str) -> float:
  """Checks that `value` is a finite number > 0 and returns it as ``float``.

  Parameters
  ----------
  value : float
    The value to check.
  name : str
    Argument or flag name used in the message.

  Returns
  -------
  float
    `value` as a Python float.
  """
  try:
    number = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be a positive finite number; got {value!r}.") from None
  if not np.isfinite(number) or number <= 0:
    raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
  return number


def check_choice(value: Any, *, name: str, choices: Sequence[str]) -> str:
  """Checks that `value` is one of `choices` and returns it.

  Parameters
  ----------
  value : str
    The value to check.
  name : str
    Argument or flag name used in the message.
  choices : sequence of str
    The allowed values, listed in the message in this order.

  Returns
  -------
  str
    `value` unchanged.
  """
  if value not in choices:
    raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}.")
  return value


def check_memory_budget(max_memory_bytes: Any) -> int:
  """Checks a memory budget: a positive number of bytes, returned as ``int``.

  Parameters
  ----------
  max_memory_bytes : int
    Largest size (bytes) of the temporary arrays a computation may hold at once.

  Returns
  -------
  int
    The budget in bytes.
  """
  if max_memory_bytes is None or int(max_memory_bytes) <= 0:
    raise ValueError(f"max_memory_bytes must be a positive number of bytes; got {max_memory_bytes!r}.")
  return int(max_memory_bytes)


def as_float_dtype(dtype: npt.DTypeLike) -> np.dtype:
  """Checks a floating-point dtype: float64 or float32.

  Parameters
  ----------
  dtype : dtype-like
    The requested dtype.

  Returns
  -------
  numpy.dtype
    ``float64`` or ``float32``.
  """
  dtype = np.dtype(dtype)
  if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
    raise ValueError(f"dtype must be float64 or float32; got {dtype}.")
  return dtype


def as_posteriors(mus: npt.ArrayLike, logvars: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  """Checks diagonal Gaussian posteriors and returns them as float64 arrays of shape (N, d).

  Parameters
  ----------
  mus : array_like of shape (N, d) or (N,)
    Posterior means (a 1-D array is one dimension).
  logvars : array_like of shape (N, d) or (N,)
    Posterior log-variances (natural log), same shape as `mus`.

  Returns
  -------
  mus : ndarray of shape (N, d)
    float64 means; N >= 1, d >= 1, all finite.
  logvars : ndarray of shape (N, d)
    float64 log-variances.
  """
  mus = np.asarray(mus, dtype=np.float64)
  logvars = np.asarray(logvars, dtype=np.float64)
  if mus.ndim == 1:
    mus = mus[:, None]
  if logvars.ndim == 1:
    logvars = logvars[:, None]
  if mus.ndim != 2 or mus.shape != logvars.shape:
    raise ValueError(
        f"mus and logvars must both be [N, d] arrays of the same shape; got "
        f"{mus.shape} and {logvars.shape}.")
  if mus.shape[0] < 1 or mus.shape[1] < 1:
    raise ValueError(f"Need at least one point and one dimension; got shape {mus.shape}.")
  if not (np.all(np.isfinite(mus)) and np.all(np.isfinite(logvars))):
    raise ValueError("mus and logvars must be finite (found NaN or inf); check the encoder outputs.")
  return mus, logvars


def as_groups(groups: Iterable[Iterable[int]] | None, num_dims: int) -> list[np.ndarray]:
  """Normalises channel groups to a list of non-empty int64 index arrays.

  Parameters
  ----------
  groups : sequence of sequences of int, or None
    Channel indices of each group; None means one group per dimension (each latent
    channel on its own).
  num_dims : int
    Number of latent dimensions d.

  Returns
  -------
  list of ndarray of shape (k,)
    One int64 index array per group, each index in [0, d).
  """
  if groups is None:
    return [np.array([k], dtype=np.int64) for k in range(num_dims)]
  result = []
  for position, group in enumerate(groups):
    indices = np.atleast_1d(np.asarray(group, dtype=np.int64))
    if indices.ndim != 1 or indices.size == 0:
      raise ValueError(f"groups[{position}] must be a non-empty list of channel indices; got {group!r}.")
    if indices.min() < 0 or indices.max() >= num_dims:
      raise ValueError(
          f"groups[{position}] = {list(indices)} has an index outside 0..{num_dims - 1} "
          f"(the encoder outputs have {num_dims} channels).")
    result.append(indices)
  if not result:
    raise ValueError("groups must hold at least one channel group.")
  return result


def as_member_fingerprints(fingerprints: npt.ArrayLike | Sequence[npt.ArrayLike], *,
                           name: str = "fingerprints") -> np.ndarray:
  """Checks a stack of member fingerprints and returns it as float64 of shape (M, N, N).

  Parameters
  ----------
  fingerprints : array_like of shape (M, N, N) or (N, N), or list of (N, N) arrays
    Bhattacharyya distances (nats) of M members on the same N points.
  name : str, optional
    Argument name used in the messages.

  Returns
  -------
  ndarray of shape (M, N, N)
    float64 distances (nats), non-negative with a zero diagonal; M >= 1, N >= 2.
  """
  if isinstance(fingerprints, (list, tuple)):
    shapes = {np.shape(member) for member in fingerprints}
    if len(shapes) > 1:
      raise ValueError(
          f"{name}: all members must be [N, N] on the same N points; got shapes {sorted(shapes)}. "
          "Fingerprint every member on the same fingerprint sample.")
    if not fingerprints:
      raise ValueError(f"{name}: need at least one member fingerprint, got an empty list.")
  try:
    stack = np.asarray(fingerprints, dtype=np.float64)
  except (TypeError, ValueError) as error:
    raise ValueError(f"{name}: could not read as a float array ({error}).") from None
  if stack.ndim == 2:
    stack = stack[None]
  if stack.ndim != 3 or stack.shape[1] != stack.shape[2]:
    raise ValueError(
        f"{name}: expected square [N, N] distance matrices stacked as [M, N, N]; got shape "
        f"{stack.shape}. Pass one Bhattacharyya distance matrix per member.")
  if stack.shape[0] < 1 or stack.shape[1] < 2:
    raise ValueError(f"{name}: need M >= 1 members on N >= 2 points; got shape {stack.shape}.")
  if not np.all(np.isfinite(stack)):
    bad = np.argwhere(~np.isfinite(stack).all(axis=(1, 2)))[:, 0].tolist()
    raise ValueError(
        f"{name}: members {bad} contain NaN or infinite distances. Recompute their fingerprints "
        "(a NaN usually means NaN posteriors from a diverged model) or leave those members out.")
  if stack.min() < -1e-9:
    raise ValueError(f"{name}: Bhattacharyya distances must be >= 0; the smallest is {stack.min():.3g}.")
  diagonal = np.abs(np.diagonal(stack, axis1=1, axis2=2)).max()
  if diagonal > _DIAGONAL_TOLERANCE:
    raise ValueError(
        f"{name}: the diagonal (distance of a point to itself) must be 0; found {diagonal:.3g}. "
        "Pass Bhattacharyya distance matrices, e.g. from infofrag.fragments.channel_fingerprints.")
  stack = np.maximum(stack, 0.0)
  idx = np.arange(stack.shape[1])
  stack[:, idx, idx] = 0.0
  return stack


def as_point_matrix(array: npt.ArrayLike, *, name: str,
                    dtype: npt.DTypeLike | None = np.float64) -> np.ndarray:
  """Checks a finite 2-D array with one row per data point and returns it as `dtype`.

  Parameters
  ----------
  array : array_like of shape (num_points, num_columns)
    One row per data point (codes or factors); numeric or bool.
  name : str
    Argument name used in the messages (e.g. ``"mus_train"``).
  dtype : dtype-like or None, optional
    Output dtype; None keeps the input's dtype (dlib's binning depends on it).

  Returns
  -------
  ndarray of shape (num_points, num_columns)
    The array; num_points >= 1, num_columns >= 1, floating entries finite.
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


def check_same_points(first: np.ndarray, first_name: str, second: np.ndarray,
                      second_name: str) -> None:
  """Checks that two arrays of shape (num_points, ...) have the same num_points.

  Parameters
  ----------
  first, second : ndarray of shape (num_points, ...)
    Arrays describing the same data points, row by row.
  first_name, second_name : str
    Their names in the message.
  """
  if first.shape[0] != second.shape[0]:
    raise ValueError(f"{first_name} has {first.shape[0]} points but {second_name} has "
                     f"{second.shape[0]}; they must describe the same data points, row by row.")


def check_same_columns(first: np.ndarray, first_name: str, second: np.ndarray,
                       second_name: str) -> None:
  """Checks that train and test arrays of shape (num_points, k) have the same k.

  Parameters
  ----------
  first, second : ndarray of shape (num_points, k)
    Train and test codes (or factors).
  first_name, second_name : str
    Their names in the message.
  """
  if first.shape[1] != second.shape[1]:
    raise ValueError(f"{first_name} has {first.shape[1]} columns but {second_name} has "
                     f"{second.shape[1]}; train and test must have the same codes/factors.")


def check_min_columns(array: np.ndarray, *, name: str, minimum: int, metric: str) -> None:
  """Checks that an array of shape (num_points, k) has k >= `minimum` columns.

  Parameters
  ----------
  array : ndarray of shape (num_points, k)
    Codes or factors.
  name : str
    The array's name in the message.
  minimum : int
    Smallest allowed number of columns.
  metric : str
    The metric that needs them (first words of the message).
  """
  if array.shape[1] < minimum:
    raise ValueError(f"{metric} needs at least {minimum} columns in {name}, got "
                     f"{array.shape[1]}.")


def train_test_arrays(
    mus_train: npt.ArrayLike, ys_train: npt.ArrayLike, mus_test: npt.ArrayLike,
    ys_test: npt.ArrayLike, *, factor_dtype: npt.DTypeLike | None = np.float64,
    code_dtype: npt.DTypeLike | None = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """Checks the four arrays of a train/test metric and returns them converted.

  Parameters
  ----------
  mus_train : array_like of shape (num_train, num_codes)
    Training representations.
  ys_train : array_like of shape (num_train, num_factors)
    Training factors.
  mus_test : array_like of shape (num_test, num_codes)
    Test representations.
  ys_test : array_like of shape (num_test, num_factors)
    Test factors.
  factor_dtype : dtype-like or None, optional
    dtype of the returned factors; None keeps the input's.
  code_dtype : dtype-like or None, optional
    dtype of the returned codes; None keeps the input's.

  Returns
  -------
  mus_train, ys_train, mus_test, ys_test : ndarray
    The arrays, codes as `code_dtype` (float64 by default).
  """
  mus_train = as_point_matrix(mus_train, name="mus_train", dtype=code_dtype)
  ys_train = as_point_matrix(ys_train, name="ys_train", dtype=factor_dtype)
  mus_test = as_point_matrix(mus_test, name="mus_test", dtype=code_dtype)
  ys_test = as_point_matrix(ys_test, name="ys_test", dtype=factor_dtype)
  check_same_points(mus_train, "mus_train", ys_train, "ys_train")
  check_same_points(mus_test, "mus_test", ys_test, "ys_test")
  check_same_columns(mus_train, "mus_train", mus_test, "mus_test")
  check_same_columns(ys_train, "ys_train", ys_test, "ys_test")
  return mus_train, ys_train, mus_test, ys_test


def parse_int_ranges(text: str, *, flag: str, minimum: int = 0) -> list[int]:
  """Parses integer ranges such as ``"0-4"`` or ``"0,3,7"`` (or ``"0-2,7"``).

  Parameters
  ----------
  text : str
    Comma-separated integers and inclusive ranges ``low-high``.
  flag : str
    Command-line flag (or argument) the text came from, named in the message,
    e.g. ``"--seeds"``.
  minimum : int, optional
    Smallest allowed integer.

  Returns
  -------
  list of int
    The integers in the order written (ranges expanded); never empty.
  """
  numbers: list[int] = []
  try:
    for part in str(text).split(","):
      part = part.strip()
      if "-" in part:
        low, high = part.split("-", 1)
        numbers.extend(range(int(low), int(high) + 1))
      elif part:
        numbers.append(int(part))
  except ValueError:
    numbers = []
  if not numbers or any(number < minimum for number in numbers):
    lowest = "non-negative integers" if minimum == 0 else f"integers >= {minimum}"
    raise ValueError(f"{flag} {text!r}: expected {lowest} like 0-4 or 0,3,7.")
  return numbers
