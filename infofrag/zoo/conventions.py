"""How outside encoders state their Gaussian posterior, and its conversion to log-variances.

The paper's measures need, per point and channel, a posterior mean and variance. Training
libraries store the spread differently: disent concatenates [mean, log-variance], pythae
returns a log-covariance (a log-variance for diagonal posteriors), latent_quantization and
many JAX models a standard deviation. infofrag works with natural-log variances; each
convention below is converted exactly as its name says.
"""

from __future__ import annotations

import numpy as np

# Convention name -> what the spread array holds.
SPREAD_CONVENTIONS = {
    "logvar": "natural log of the variance (dlib, disent, pythae's log_covariance)",
    "log_sigma": "natural log of the standard deviation",
    "sigma": "standard deviation (> 0)",
    "variance": "variance (> 0)",
}


def check_convention(convention: object, *, where: str) -> str:
  """Returns `convention` if known; else a one-line ValueError naming `where` and the choices."""
  if convention not in SPREAD_CONVENTIONS:
    raise ValueError(f"{where}: unknown spread convention {convention!r}; use one of "
                     f"{', '.join(SPREAD_CONVENTIONS)}.")
  return str(convention)


def to_logvar(spread: np.ndarray, convention: str, *, where: str) -> np.ndarray:
  """Natural-log variances of a spread array in `convention`.

  Parameters
  ----------
  spread : ndarray of shape (n, c)
  convention : {"logvar", "log_sigma", "sigma", "variance"}
  where : str
      The file or output named in errors.

  Returns
  -------
  ndarray of shape (n, c), float64 (the input dtype's values, converted in float64).

  Raises
  ------
  ValueError
      For a non-positive sigma or variance, naming `where`.
  """
  spread = np.asarray(spread, dtype=np.float64)
  if convention == "logvar":
    return spread
  if convention == "log_sigma":
    return 2.0 * spread
  if np.any(~(spread > 0)):
    raise ValueError(f"{where}: the spread is declared as {convention!r} but holds values <= 0 "
                     "or NaN; check the declared convention.")
  return 2.0 * np.log(spread) if convention == "sigma" else np.log(spread)


def split_concatenated(posterior: np.ndarray, *, where: str) -> tuple[np.ndarray, np.ndarray]:
  """(mean, spread) of a [mean, spread] output of shape (n, 2c), as disent writes it."""
  posterior = np.asarray(posterior)
  if posterior.ndim != 2 or posterior.shape[1] % 2:
    raise ValueError(f"{where}: a concatenated posterior must have shape (n, 2 * channels); got "
                     f"{posterior.shape}.")
  half = posterior.shape[1] // 2
  return posterior[:, :half], posterior[:, half:]
