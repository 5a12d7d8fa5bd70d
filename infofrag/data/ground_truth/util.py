"""State-space helpers shared by the datasets.

The order in which random numbers are drawn matches disentanglement_lib's
`data/ground_truth/util.py`, so that `sample(num, np.random.RandomState(s))` visits the
same factor tuples as dlib does for the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SplitDiscreteStateSpace:
  """Factors split into latent factors (exposed) and observation-only factors.

  Parameters
  ----------
  factor_sizes
    number of values of every factor of the underlying data.
  latent_factor_indices
    which of those factors are exposed as ground truth.
  """

  def __init__(self, factor_sizes: Sequence[int],
               latent_factor_indices: Sequence[int] | None) -> None:
    self.factor_sizes = list(factor_sizes)
    self.num_factors = len(self.factor_sizes)
    self.latent_factor_indices = list(latent_factor_indices)
    self.observation_factor_indices = [
        i for i in range(self.num_factors) if i not in self.latent_factor_indices]

  @property
  def num_latent_factors(self) -> int:
    return len(self.latent_factor_indices)

  def sample_latent_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
    """[num, num_latent_factors] int64, one randint draw per factor in order."""
    factors = np.zeros((num, self.num_latent_factors), dtype=np.int64)
    for column, factor_index in enumerate(self.latent_factor_indices):
      factors[:, column] = random_state.randint(self.factor_sizes[factor_index], size=num)
    return factors

  def sample_all_factors(self, latent_factors: np.ndarray,
                         random_state: np.random.RandomState) -> np.ndarray:
    """Completes latent factors [num, L] with random observation factors -> [num, F]."""
    latent_factors = np.asarray(latent_factors)
    num = latent_factors.shape[0]
    all_factors = np.zeros((num, self.num_factors), dtype=np.int64)
    all_factors[:, self.latent_factor_indices] = latent_factors
    for factor_index in self.observation_factor_indices:
      all_factors[:, factor_index] = random_state.randint(
          self.factor_sizes[factor_index], size=num)
    return all_factors


class StateSpaceAtomIndex:
  """Maps factor tuples to row indices of a dataset stored in arbitrary order.

  Parameters
  ----------
  factor_sizes
    number of values of every factor.
  features
    [num_atoms, num_factors] int, the factor tuple of every stored row; it
    must cover the whole state space exactly once.
  """

  def __init__(self, factor_sizes: Sequence[int], features: np.ndarray) -> None:
    self.factor_sizes = np.asarray(factor_sizes, dtype=np.int64)
    num_atoms = int(np.prod(self.factor_sizes))
    # Mixed-radix bases: the last factor varies fastest.
    self.factor_bases = num_atoms // np.cumprod(self.factor_sizes)
    flat = self._flat_index(features)
    if np.unique(flat).size != num_atoms:
      raise ValueError(
          "The factor labels of the data file do not cover the whole state space "
          f"(expected {num_atoms} distinct factor tuples, found {np.unique(flat).size}).")
    self._row_of_flat_index = np.zeros(num_atoms, dtype=np.int64)
    self._row_of_flat_index[flat] = np.arange(len(flat))

  def _flat_index(self, features):
    features = np.asarray(features, dtype=np.int64)
    if np.any(features >= self.factor_sizes[None, :]) or np.any(features < 0):
      raise ValueError("Feature indices have to be within [0, factor_size - 1].")
    return features @ self.factor_bases

  def features_to_index(self, features: np.ndarray) -> np.ndarray:
    """Row indices [num] of the given factor tuples [num, num_factors]."""
    return self._row_of_flat_index[self._flat_index(features)]
