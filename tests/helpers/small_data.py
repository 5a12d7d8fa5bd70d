"""A small ground-truth dataset for fast metric tests: three factors of 3, 4 and 5 values.

Observations are float32 vectors [6]: the factors scaled to [0, 1] in the first three
entries, zeros in the last three, plus Gaussian noise drawn from the caller's
RandomState (so, like dlib's noisy datasets, rendering consumes the random stream).
"""

import numpy as np

from infofrag.data.ground_truth import ground_truth_data

SIZES = (3, 4, 5)
NOISE = 0.15


class SmallFactors(ground_truth_data.GroundTruthData):
  """Three factors (3, 4, 5 values) seen through 6 noisy numbers."""

  @property
  def num_factors(self):
    return len(SIZES)

  @property
  def factors_num_values(self):
    return list(SIZES)

  @property
  def observation_shape(self):
    return [6]

  def sample_factors(self, num, random_state):
    return np.stack([random_state.randint(size, size=num) for size in SIZES], axis=1)

  def sample_observations_from_factors(self, factors, random_state):
    factors = self.check_factors(factors)
    clean = np.concatenate([factors / (np.array(SIZES) - 1.0), np.zeros((len(factors), 3))],
                           axis=1)
    return (clean + NOISE * random_state.randn(*clean.shape)).astype(np.float32)


def linear_codes(seed, num_codes=4):
  """Representation function: observations [B, 6] -> float64 codes [B, num_codes], a fixed
  random linear map (seeded) of the observations."""
  weights = np.random.RandomState(seed).randn(6, num_codes)
  return lambda observations: np.asarray(observations, dtype=np.float64) @ weights
