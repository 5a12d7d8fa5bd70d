"""Input checks for fusion: clear errors that say which argument is wrong and how to fix it."""

import numpy as np

OBJECTIVES = ("info", "vi", "nmi")
OPTIMIZERS = ("sgd", "adam")
# Tolerance on the diagonal: a point's distance to itself must be 0 (D_ii = 0).
_DIAGONAL_TOLERANCE = 1e-6


def as_member_fingerprints(fingerprints, name="fingerprints"):
  """Checks a member fingerprint stack and returns it as [M, N, N] float64.

  Parameters
  ----------
  fingerprints : [M, N, N] or [N, N] array-like, or a list of [N, N] arrays
    Bhattacharyya distances (nats) of the M members on the same N points.

  Returns
  -------
  [M, N, N] float64, non-negative with a zero diagonal.
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


def check_dim(dim):
  """Dimension of the fused space: an integer >= 1."""
  if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
    raise ValueError(f"dim must be an integer >= 1 (the fused space's dimension); got {dim!r}.")
  return int(dim)


def check_objective(objective):
  """One of OBJECTIVES."""
  if objective not in OBJECTIVES:
    raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}.")
  return objective


def check_optimizer(optimizer):
  """One of OPTIMIZERS."""
  if optimizer not in OPTIMIZERS:
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}.")
  return optimizer


def check_positive_int(name, value, minimum=1):
  """An integer >= minimum."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
  return int(value)


def check_positive_float(name, value):
  """A finite float > 0."""
  try:
    value = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be a positive number; got {value!r}.") from None
  if not np.isfinite(value) or value <= 0:
    raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
  return value


def as_posteriors(mus, logvars):
  """Checks fused / embedded posteriors: [N, d] float64 means and log-variances of equal shape."""
  mus = np.asarray(mus, dtype=np.float64)
  logvars = np.asarray(logvars, dtype=np.float64)
  if mus.ndim == 1:
    mus, logvars = mus[:, None], logvars.reshape(-1, 1) if logvars.ndim == 1 else logvars
  if mus.ndim != 2 or mus.shape != logvars.shape:
    raise ValueError(
        f"mus and logvars must both be [N, d] arrays of the same shape; got {mus.shape} and {logvars.shape}.")
  if not (np.all(np.isfinite(mus)) and np.all(np.isfinite(logvars))):
    raise ValueError("mus and logvars must be finite (no NaN or infinity).")
  return mus, logvars
