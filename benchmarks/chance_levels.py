"""Chance levels of the Bhattacharyya NMI at the fingerprint sample size: unrelated variables.

Two reference cases on N points (default 1000, the paper's fingerprint size):

1. a random 20-bin labelling (each point's bin drawn uniformly) against an independent
   labelling with K values, K = 20 and the synthetic dSprites factor sizes 3, 6, 32, 40:
   the estimator treats labels as channels (`fragments.factor_fingerprints`), so this is
   the plug-in NMI of two independent discrete variables;
2. Gaussian channels of increasing resolution against a random 20-value factor: the
   permutation null the analysis uses (`fragments.chance.factor_nmi_null`), which grows
   with the information a channel holds about the points.

For case 1 it also prints the plug-in bias approximation (K_a - 1)(K_b - 1) / (2 N ln 2)
bits over sqrt(H_a H_b).

  PYTHONPATH=. python benchmarks/chance_levels.py [--points 1000] [--draws 200]
"""

import argparse
import os

import numpy as np

from infofrag import fragments
from infofrag.fragments import chance


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--points", type=int, default=1000)
  parser.add_argument("--draws", type=int, default=200)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  n = args.points
  rng = np.random.default_rng(args.seed)
  print(f"N = {n}, {args.draws} draws, load average {os.getloadavg()[0]:.2f}")
  print("\n1. random 20-bin labelling vs an independent K-valued labelling")
  print("| K | mean NMI | 95th percentile | plug-in bias approximation |")
  print("|---|---|---|---|")
  for k in (20, 3, 6, 32, 40):
    values = []
    for _ in range(args.draws):
      a = rng.integers(0, 20, n)
      b = rng.integers(0, k, n)
      nmi, _ = fragments.pairwise_nmi_vi(fragments.factor_fingerprints(a),
                                         fragments.factor_fingerprints(b), num_threads=1)
      values.append(nmi[0, 0])
    entropy = lambda m: np.log2(m)
    approximation = (19 * (k - 1) / (2 * n * np.log(2))) / np.sqrt(entropy(20) * entropy(k))
    print(f"| {k} | {np.mean(values):.4f} | {np.quantile(values, 0.95):.4f} | "
          f"{approximation:.4f} |")
  print("\n2. a Gaussian channel vs a random 20-value factor (permutation null, "
        f"{args.draws} shuffles)")
  print("| posterior std / signal std | channel information (bits) | 95th percentile NMI |")
  print("|---|---|---|")
  signal = rng.normal(size=n)
  factor = rng.integers(0, 20, n)[:, None]
  shuffles = chance.permutations(n, args.draws, args.seed)
  for spread in (1.0, 0.3, 0.1, 0.03, 0.01):
    mean = signal[:, None]
    logvar = np.full_like(mean, 2 * np.log(spread))
    bits = float(np.asarray(fragments.information(fragments.LazyFingerprints(mean, logvar)))[0])
    null = chance.factor_nmi_null(mean, logvar, factor, shuffles=shuffles)
    print(f"| {spread:g} | {bits:.2f} | {chance.chance_level(null)[0, 0]:.4f} |")


if __name__ == "__main__":
  main()
