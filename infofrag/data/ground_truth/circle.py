"""`circle`: the paper's SO(2) toy data, points (cos t, sin t) on the unit circle.

One factor, the angle t, discretised into `num_angles` values t_k = 2*pi*k/num_angles
(for the metrics and fingerprints). Observations are float32 vectors of shape [2].
Training batches draw t uniformly from [0, 2*pi) afresh at every step, as the paper's
SO(2) notebook does, so a learner never sees only the evaluation grid.
"""

import gin
import numpy as np

from infofrag.data.ground_truth import ground_truth_data


def circle_points(angles):
  """[num] angles in radians -> [num, 2] float32 points (cos t, sin t)."""
  angles = np.asarray(angles, dtype=np.float64)
  return np.stack([np.cos(angles), np.sin(angles)], axis=-1).astype(np.float32)


@gin.configurable("circle", denylist=[])
class Circle(ground_truth_data.GroundTruthData):
  """Unit-circle points; factor 0 is the angle index in [0, num_angles)."""

  def __init__(self, num_angles=200):
    if num_angles < 2:
      raise ValueError(f"circle.num_angles must be >= 2, got {num_angles}.")
    self.num_angles = int(num_angles)

  @property
  def num_factors(self):
    return 1

  @property
  def factors_num_values(self):
    return [self.num_angles]

  @property
  def factor_names(self):
    return ["angle"]

  @property
  def observation_shape(self):
    return [2]

  def angles(self, factors):
    """Angle in radians of factor indices [num, 1] -> [num]."""
    return 2.0 * np.pi * np.asarray(factors)[:, 0] / self.num_angles

  def sample_factors(self, num, random_state):
    return random_state.randint(self.num_angles, size=(num, 1)).astype(np.int64)

  def sample_observations_from_factors(self, factors, random_state):
    factors = self.check_factors(factors)
    return circle_points(self.angles(factors))

  def sample_training_observations(self, num, random_state):
    """[num, 2] points at angles drawn uniformly from [0, 2*pi) (not the grid)."""
    return circle_points(random_state.uniform(0.0, 2.0 * np.pi, size=num))
