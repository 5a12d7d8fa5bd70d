"""dlib's `dummy_data`: 64x64x1 random images, 10 factors of 5 values each."""

import numpy as np

from infofrag.data.ground_truth import ground_truth_data


class DummyData(ground_truth_data.GroundTruthData):
  """Observations are uniform noise independent of the factors (for smoke tests)."""

  @property
  def num_factors(self):
    return 10

  @property
  def factors_num_values(self):
    return [5] * 10

  @property
  def observation_shape(self):
    return [64, 64, 1]

  def sample_factors(self, num, random_state):
    return random_state.randint(5, size=(num, self.num_factors))

  def sample_observations_from_factors(self, factors, random_state):
    return random_state.random_sample(size=(np.shape(factors)[0], 64, 64, 1)).astype(np.float32)
