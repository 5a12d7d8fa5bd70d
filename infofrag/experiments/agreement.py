"""Estimator agreement (the paper's section 4.1): Bhattacharyya vs Monte Carlo NMI and VI.

Nine synthetic representation spaces of the same ordered points t in [0, 1) — lines,
a spiral, a circle, discrete and overlapping clusters, in 1-D and 2-D — are compared
pairwise twice: with the Bhattacharyya fingerprint bound on the N points (`fragments.
pairwise_nmi_vi`) and with Monte Carlo sampling of the posteriors (`fragments.
monte_carlo_nmi_vi`). The paper's claim: the two estimators rank pairs of spaces alike
(high Spearman correlation), although their values differ.
"""

from __future__ import annotations

import os

import numpy as np

from infofrag import fragments
from infofrag.reports import figures as figures_lib
from infofrag.reports import tables
from infofrag.utils import io

COLUMNS = ["space_a", "space_b", "bhattacharyya_nmi", "monte_carlo_nmi", "monte_carlo_nmi_err",
           "bhattacharyya_vi_bits", "monte_carlo_vi_bits", "monte_carlo_vi_err"]


def synthetic_spaces(num_points: int = 64) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """The nine spaces: name -> (means, log-variances), each ndarray of shape (N, d).

  All spaces embed the same points t_i = i / N, so every pair is comparable; d is 1 or 2.
  """
  t = np.linspace(0.0, 1.0, num_points, endpoint=False)
  order = np.random.default_rng(7).permutation(num_points)
  const = lambda variance, dims: np.full((num_points, dims), np.log(variance))
  radius = 0.5 + 2.0 * t
  return {
      "line": (4.0 * t[:, None], const(0.05, 1)),
      "noisy line": (4.0 * t[:, None], const(1.0, 1)),
      "spiral": (np.stack([radius * np.cos(4 * np.pi * t), radius * np.sin(4 * np.pi * t)], 1),
                 const(0.02, 2)),
      "circle": (np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], 1), const(0.01, 2)),
      "clusters": (3.0 * np.floor(4 * t)[:, None], const(0.01, 1)),
      "overlapping clusters": (np.floor(4 * t)[:, None], const(0.5, 1)),
      "folded line": (2.0 * np.cos(2 * np.pi * t)[:, None], const(0.02, 1)),
      "parity and line": (np.stack([3.0 * (np.arange(num_points) % 2), 2.0 * t], 1),
                          const(0.05, 2)),
      "scrambled line": (4.0 * t[order, None], const(0.05, 1)),
  }


def compare_spaces(spaces: dict[str, tuple[np.ndarray, np.ndarray]], *, num_samples: int = 4000,
                   seed: int = 0) -> list[dict]:
  """One row per pair of spaces with both estimators' NMI and VI (bits).

  Parameters
  ----------
  spaces : {name: (ndarray of shape (N, d), ndarray of shape (N, d))}
      Means and log-variances of diagonal Gaussian posteriors on the same N points.
  num_samples : int
      Monte Carlo samples per estimate.
  seed : int
      Pair k (in upper-triangle order) uses the Monte Carlo seed `seed + k`.
  """
  names = list(spaces)
  prints = np.stack([fragments.bhattacharyya_distances(*spaces[name]) for name in names])
  nmi, vi = fragments.pairwise_nmi_vi(prints)
  rows = []
  for k, (a, b) in enumerate(zip(*np.triu_indices(len(names), 1))):
    result = fragments.monte_carlo_nmi_vi(*spaces[names[a]], *spaces[names[b]],
                                          num_samples=num_samples, seed=seed + k)
    rows.append({"space_a": names[a], "space_b": names[b],
                 "bhattacharyya_nmi": float(nmi[a, b]), "monte_carlo_nmi": float(result.nmi),
                 "monte_carlo_nmi_err": float(result.nmi_error),
                 "bhattacharyya_vi_bits": float(vi[a, b]), "monte_carlo_vi_bits": float(result.vi),
                 "monte_carlo_vi_err": float(result.vi_error)})
  return rows


def spearman(rows: list[dict]) -> dict[str, float]:
  """Spearman correlation of the two estimators over the pairs, for NMI and for VI."""
  from scipy import stats
  column = lambda key: [row[key] for row in rows]
  return {"nmi": float(stats.spearmanr(column("bhattacharyya_nmi"),
                                       column("monte_carlo_nmi")).statistic),
          "vi": float(stats.spearmanr(column("bhattacharyya_vi_bits"),
                                      column("monte_carlo_vi_bits")).statistic)}


def plot_agreement(rows: list[dict], correlations: dict[str, float], path: str) -> str:
  """Scatter of Bhattacharyya against Monte Carlo NMI and VI, one point per pair (PNG)."""
  from matplotlib import pyplot as plt
  fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
  for axis, (key, label) in zip(axes, [("nmi", "NMI"), ("vi_bits", "VI (bits)")]):
    x = [row[f"bhattacharyya_{key}"] for row in rows]
    y = [row[f"monte_carlo_{key}"] for row in rows]
    err = [row[f"monte_carlo_{key.split('_')[0]}_err"] for row in rows]
    axis.errorbar(x, y, yerr=err, fmt="o", ms=4, lw=0.8)
    axis.set_xlabel(f"Bhattacharyya {label}")
    axis.set_ylabel(f"Monte Carlo {label}")
    axis.set_title(f"Spearman {correlations[key.split('_')[0]]:.3f} over {len(rows)} pairs",
                   fontsize=9)
  return figures_lib.save_figure(fig, path)


def run(output_dir: str, *, quick: bool = False, seed: int = 0) -> dict:
  """Writes agreement.{csv,md}, agreement.png and agreement.json; returns the summary.

  `quick` uses 1,000 Monte Carlo samples per pair instead of 4,000.
  """
  os.makedirs(output_dir, exist_ok=True)
  num_samples = 1000 if quick else 4000
  rows = compare_spaces(synthetic_spaces(), num_samples=num_samples, seed=seed)
  correlations = spearman(rows)
  tables.write_csv(os.path.join(output_dir, "agreement.csv"), rows, COLUMNS)
  text = tables.markdown_table(rows, COLUMNS, digits=3)
  text += (f"\n\nSpearman(Bhattacharyya, Monte Carlo) over {len(rows)} pairs: "
           f"NMI {correlations['nmi']:.3f}, VI {correlations['vi']:.3f}")
  tables.write_markdown(os.path.join(output_dir, "agreement.md"), text)
  figure = plot_agreement(rows, correlations, os.path.join(output_dir, "agreement.png"))
  summary = {"pairs": len(rows), "spearman": correlations, "monte_carlo_samples": num_samples,
             "seed": seed, "figure": figure}
  io.write_json_atomic(os.path.join(output_dir, "agreement.json"), summary)
  return summary
