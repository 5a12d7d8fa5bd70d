"""Bhattacharyya and Monte Carlo NMI / VI rank pairs of representation spaces alike.

The synthetic check of the paper's section 4.1: 1-D and 2-D representation
spaces of the same 64 points (lines, a spiral, a circle, discrete and
overlapping clusters, a folded line, a scrambled line).
"""

import numpy as np
from scipy import stats

from infofrag import fragments
from infofrag.experiments import agreement


def test_bhattacharyya_and_monte_carlo_rank_pairs_alike():
  spaces = agreement.synthetic_spaces()
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


def test_reproduce_agreement_quick_writes_tables_figure_and_high_correlations(tmp_path):
  summary = agreement.run(str(tmp_path), quick=True)
  assert summary["pairs"] == 36
  assert summary["spearman"]["nmi"] > 0.9 and summary["spearman"]["vi"] > 0.9
  for name in ("agreement.csv", "agreement.md", "agreement.png", "agreement.json"):
    assert (tmp_path / name).stat().st_size > 0
  assert "Spearman(Bhattacharyya, Monte Carlo) over 36 pairs" in (tmp_path / "agreement.md").read_text()
