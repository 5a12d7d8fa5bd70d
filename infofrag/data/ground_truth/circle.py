"""`circle`: the paper's SO(2) toy data, points (cos t, sin t) on the unit circle.

One factor, the angle t, discretised into `num_angles` values t_k = 2*pi*k/num_angles
(for the metrics and fingerprints). Observations are float32 vectors of shape [2].
Training batches draw t uniformly from [0, 2*pi) afresh at every step, as the paper's
SO(2) notebook does, so a learner never sees only the evaluation grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gin
import numpy as np
import numpy.typing as npt

from infofrag.data.ground_truth import ground_truth_data

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData


def circle_points(angles: np.ndarray) -> np.ndarray:
  """[num] angles in radians -> [num, 2] float32 points (cos t, sin t)."""
  angles = np.asarray(angles, dtype=np.float64)
  return np.stack([np.cos(angles), np.sin(angles)], axis=-1).astype(np.float32)


@gin.configurable("circle", denylist=[])
class Circle(ground_truth_data.GroundTruthData):
  """Unit-circle points; factor 0 is the angle index in [0, num_angles)."""

  def __init__(self, num_angles: int = 200) -> None:
    if num_angles < 2:
      raise ValueError(f"circle.num_angles must be >= 2, got {num_angles}.")
    self.num_angles = int(num_angles)

  @property
  def num_factors(self) -> int:
    return 1

  @property
  def factors_num_values(self) -> list[int]:
    return [self.num_angles]

  @property
  def factor_names(self) -> list[str]:
    return ["angle"]

  @property
  def observation_shape(self) -> list[int]:
    return [2]

  def angles(self, factors: npt.ArrayLike) -> np.ndarray:
    """Angle in radians of factor indices [num, 1] -> [num]."""
    return 2.0 * np.pi * np.asarray(factors)[:, 0] / self.num_angles

  def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
    return random_state.randint(self.num_angles, size=(num, 1)).astype(np.int64)

  def sample_observations_from_factors(self, factors: npt.ArrayLike,
                                       random_state: np.random.RandomState) -> np.ndarray:
    factors = self.check_factors(factors)
    return circle_points(self.angles(factors))

  def sample_training_observations(self, num: int,
                                   random_state: np.random.RandomState) -> np.ndarray:
    """[num, 2] points at angles drawn uniformly from [0, 2*pi) (not the grid)."""
    return circle_points(random_state.uniform(0.0, 2.0 * np.pi, size=num))
