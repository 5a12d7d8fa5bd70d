"""dlib's `dummy_data`: 64x64x1 random images, 10 factors of 5 values each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData


class DummyData(ground_truth_data.GroundTruthData):
  """Observations are uniform noise independent of the factors (for smoke tests)."""

  @property
  def num_factors(self) -> int:
    return 10

  @property
  def factors_num_values(self) -> list[int]:
    return [5] * 10

  @property
  def observation_shape(self) -> list[int]:
    return [64, 64, 1]

  def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
    return random_state.randint(5, size=(num, self.num_factors))

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    return random_state.random_sample(size=(np.shape(factors)[0], 64, 64, 1)).astype(np.float32)
