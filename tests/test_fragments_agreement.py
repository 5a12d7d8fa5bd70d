"""Bhattacharyya and Monte Carlo NMI / VI rank pairs of representation spaces alike.

The synthetic check of the paper's section 4.1: 1-D and 2-D representation
spaces of the same 64 points (lines, a spiral, a circle, discrete and
overlapping clusters, a folded line, a scrambled line).
"""

import numpy as np
from scipy import stats

from infofrag import fragments


def _synthetic_spaces(num_points=64):
  """name -> (mus [N, d], logvars [N, d]) over the same ordered points t in [0, 1)."""
  t = np.linspace(0.0, 1.0, num_points, endpoint=False)
  order = np.random.default_rng(7).permutation(num_points)
  const = lambda variance, dims: np.full((num_points, dims), np.log(variance))
  radius = 0.5 + 2.0 * t
  return {
      "line": (4.0 * t[:, None], const(0.05, 1)),
      "noisy line": (4.0 * t[:, None], const(1.0, 1)),
      "spiral": (np.stack([radius * np.cos(4 * np.pi * t), radius * np.sin(4 * np.pi * t)], 1), const(0.02, 2)),
      "circle": (np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], 1), const(0.01, 2)),
      "clusters": (3.0 * np.floor(4 * t)[:, None], const(0.01, 1)),
      "overlapping clusters": (np.floor(4 * t)[:, None], const(0.5, 1)),
      "folded line": (2.0 * np.cos(2 * np.pi * t)[:, None], const(0.02, 1)),
      "parity and line": (np.stack([3.0 * (np.arange(num_points) % 2), 2.0 * t], 1), const(0.05, 2)),
      "scrambled line": (4.0 * t[order, None], const(0.05, 1)),
  }


def test_bhattacharyya_and_monte_carlo_rank_pairs_alike():
  spaces = _synthetic_spaces()
  names = list(spaces)
  prints = np.stack([fragments.bhattacharyya_distances(*spaces[name]) for name in names])
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  upper = np.triu_indices(len(names), 1)
  mc_nmi, mc_vi = [], []
  for a, b in zip(*upper):
    result = fragments.monte_carlo_nmi_vi(*spaces[names[a]], *spaces[names[b]], num_samples=4000,
                                          seed=100 * int(a) + int(b))
    mc_nmi.append(result.nmi)
    mc_vi.append(result.vi)
  nmi_rho = stats.spearmanr(nmi[upper], mc_nmi).statistic
  vi_rho = stats.spearmanr(vi[upper], mc_vi).statistic
  print(f"Spearman(Bhattacharyya, Monte Carlo) over {len(mc_nmi)} pairs: NMI {nmi_rho:.3f}, VI {vi_rho:.3f}")
  assert nmi_rho > 0.9
  assert vi_rho > 0.9
  # The scrambled line shares almost nothing with the line; the spiral and circle share a lot.
  line, scrambled, spiral, circle = (names.index(n) for n in ("line", "scrambled line", "spiral", "circle"))
  assert nmi[line, scrambled] < 0.2 and nmi[spiral, circle] > 0.8
