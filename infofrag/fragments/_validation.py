"""Input checks shared by the fragments modules (messages say what to fix)."""

import numpy as np


def as_posteriors(mus, logvars):
  """Checks Gaussian posterior parameters and returns them as float64 [N, d] arrays.

  Parameters
  ----------
  mus, logvars : array_like, [N, d] (or [N] for one dimension)
    Means and log-variances (natural log) of diagonal Gaussian posteriors.

  Returns
  -------
  (mus, logvars) : two [N, d] float64 arrays.
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


def as_groups(groups, num_dims):
  """Normalises channel groups to a list of non-empty int64 index arrays.

  Parameters
  ----------
  groups : None or sequence of sequences of int
    None means one group per dimension (each latent channel on its own).
  num_dims : int
    Number of latent dimensions d.
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


def as_float_dtype(dtype):
  """Accepts float64 (default) or float32."""
  dtype = np.dtype(dtype)
  if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
    raise ValueError(f"dtype must be float64 or float32; got {dtype}.")
  return dtype


def check_memory_budget(max_memory_bytes):
  """Requires a positive integer budget in bytes."""
  if max_memory_bytes is None or int(max_memory_bytes) <= 0:
    raise ValueError(f"max_memory_bytes must be a positive number of bytes; got {max_memory_bytes!r}.")
  return int(max_memory_bytes)
