"""The fingerprint sample of a dataset: the shared points every model is embedded on.

Drawn once per (dataset, size, seed) and saved as
``OUT/fingerprints/<dataset>_n<N>_seed<S>.npz``, so every model of a run, and every rerun,
sees the same observations and factor labels.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from infofrag.data import named_data
from infofrag.utils import io
from infofrag.utils import layout


@dataclasses.dataclass
class FingerprintSample:
  """The shared points of one dataset.

  Attributes
  ----------
  dataset : str
  observations : ndarray of shape (n, *observation_shape), float32
  factors : ndarray of shape (n, n_factors), int64
  factor_names : list of str
  path : str
      The saved ``.npz``.
  """
  dataset: str
  observations: np.ndarray
  factors: np.ndarray
  factor_names: list[str]
  path: str

  @property
  def key(self) -> str:
    """File stem of the sample, e.g. ``dsprites_n1000_seed0`` (names its cache folder)."""
    return layout.sample_key(self.path)

  @property
  def size(self) -> int:
    return int(self.factors.shape[0])


def available_memory_bytes() -> int:
  """Memory the process can still take (Linux MemAvailable; physical memory elsewhere)."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def draw_points(data: Any, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """The fingerprint points of a dataset: (factors of shape (size, F) int64, observations
  float32), drawn with ``numpy.random.RandomState(seed)`` (what `infofrag_sample` writes
  for models embedded elsewhere, too)."""
  factors, observations = data.sample(size, np.random.RandomState(seed))
  return np.asarray(factors, np.int64), np.asarray(observations, dtype=np.float32)


def check_sample_fits(dataset_name: str, data: Any, size: int, *,
                      flag: str = "--fingerprint_size") -> None:
  """Rejects a sample larger than the dataset or than memory, before any work.

  The sample holds `size` observations, and the factors' fingerprints are F float64
  matrices of shape (size, size); both must fit in the available memory.

  Raises
  ------
  ValueError
      Naming `flag` (the option that set `size`) and the largest size that fits.
  """
  states = int(np.prod(data.factors_num_values))
  if size > states:
    raise ValueError(f"{flag} {size:,} exceeds the {states:,} distinct factor "
                     f"settings of {dataset_name}; use at most {states:,}.")
  needed = size * int(np.prod(data.observation_shape)) * 4 + data.num_factors * size**2 * 8
  available = available_memory_bytes()
  if needed > available:
    largest = int(np.sqrt(available / (8 * max(1, data.num_factors))))
    raise ValueError(f"{flag} {size:,} needs about {needed / 2**30:.1f} GiB for "
                     f"{dataset_name} but {available / 2**30:.1f} GiB is available; use at most "
                     f"about {largest:,} points.")


def check_samples_fit(datasets: list[str], size: int, *, flag: str = "--fingerprint_size") -> None:
  """`check_sample_fits` for each dataset (run before any model is touched)."""
  for dataset in datasets:
    check_sample_fits(dataset, named_data.get_named_ground_truth_data(dataset), size, flag=flag)


def fingerprint_sample(dataset_name: str, *, size: int, seed: int,
                       output_dir: str) -> FingerprintSample:
  """Loads, or draws and saves, the fingerprint sample of a dataset.

  Parameters
  ----------
  dataset_name : str
      A name known to `infofrag.data.named_data`.
  size : int
      Number of points n (at least 2).
  seed : int
      Seed of the draw (``numpy.random.RandomState``).
  output_dir : str
      The run's folder; the sample goes to ``fingerprints/`` under it.
  """
  if size < 2:
    raise ValueError(f"--fingerprint_size must be at least 2, got {size}.")
  path = layout.sample_path(output_dir, dataset_name, size, seed)
  data = named_data.get_named_ground_truth_data(dataset_name)
  check_sample_fits(dataset_name, data, size)
  names = list(getattr(data, "factor_names", [f"factor{i}" for i in range(data.num_factors)]))
  stored = io.load_npz_or_set_aside(path, ("observations", "factors"))
  if stored is not None:
    observations, factors = stored["observations"], stored["factors"]
  else:
    factors, observations = draw_points(data, size, seed)
    with io.atomic_path(path) as tmp:
      np.savez(tmp, observations=observations, factors=factors,
               factor_names=np.array(names), dataset=np.array(dataset_name))
  return FingerprintSample(dataset_name, observations, np.asarray(factors, np.int64), names, path)
