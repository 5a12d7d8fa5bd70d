"""Whole-space Monte Carlo at dataset scale: time and peak memory.

A 10-D latent space of 100,000 points (synthetic posteriors: means from a mixture, so
the space is informative; log-variances around -2), as in the paper's whole-dataset
smallNORB / dSprites analysis. Times `monte_carlo_information` (I(U;X)) and
`monte_carlo_nmi_vi` against a second 10-D space of the same points, each with
--samples draws, and prints the peak resident memory of this process.
Targets (issue): under 2 minutes on 2 cores and under 2 GiB.

  python benchmarks/spaces.py [--points 100000] [--dims 10] [--samples 2000]
"""

import argparse
import os
import resource
import time

import numpy as np

from infofrag import fragments


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--points", type=int, default=100_000)
  parser.add_argument("--dims", type=int, default=10)
  parser.add_argument("--samples", type=int, default=2000)
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  centres = rng.normal(0.0, 2.0, size=(64, args.dims))
  mean_a = centres[rng.integers(64, size=args.points)] + rng.normal(0, 0.5, (args.points, args.dims))
  mean_b = mean_a @ rng.normal(size=(args.dims, args.dims)) / np.sqrt(args.dims)
  logvar_a = rng.normal(-2.0, 0.3, (args.points, args.dims))
  logvar_b = rng.normal(-2.0, 0.3, (args.points, args.dims))
  print(f"{args.dims}-D spaces on {args.points:,} points, {args.samples} draws per estimate, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
  start = time.perf_counter()
  bits, error = fragments.monte_carlo_information(mean_a, logvar_a, num_samples=args.samples)
  info_seconds = time.perf_counter() - start
  print(f"I(U;X) = {bits:.3f} ± {error:.3f} bits of log2 N = {np.log2(args.points):.2f}: "
        f"{info_seconds:.1f} s")
  start = time.perf_counter()
  result = fragments.monte_carlo_nmi_vi(mean_a, logvar_a, mean_b, logvar_b, num_samples=args.samples)
  nmi_seconds = time.perf_counter() - start
  print(f"NMI = {result.nmi:.3f} ± {result.nmi_error:.3f}, VI = {result.vi:.3f} ± "
        f"{result.vi_error:.3f} bits (five estimates): {nmi_seconds:.1f} s")
  peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
  total = info_seconds + nmi_seconds
  print(f"total {total:.1f} s (target < 120 s: {'met' if total < 120 else 'NOT met'}), "
        f"peak RSS {peak_gib:.2f} GiB (target < 2 GiB: {'met' if peak_gib < 2 else 'NOT met'}), "
        f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
  main()
