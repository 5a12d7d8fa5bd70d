"""Bhattacharyya coefficients exp(-D): directly (exp(-Q/2)/sqrt(R)) against through D.

The pairwise NMI/VI stage spends most of its time outside the matrix products building
each channel's coefficients row by row. This prints, on the same posteriors, the cost
per coefficient (ns, one thread) of three ways to build them:

  through D         2 D (with its logarithm), then exp(-D): the way before this change
  through D, floor  the same with the exponent raised to ln(flush level) first (exp's
                    subnormal results take a slow path)
  direct            LazyFingerprints.fill_coefficient_rows: exp(-Q/2) / sqrt(R), no log

and the largest difference between "through D" and "direct". Posteriors: VAE-like
channels (benchmarks/fragments.py's `encoder_outputs`) and the same with 100x smaller
variances (concentrated posteriors, where far-apart points underflow). Usage:
  python benchmarks/coefficients.py [--points 1000] [--channels 40] [--repeats 3]
"""

import argparse
import os
import sys
import time

import numpy as np

from infofrag import fragments

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fragments import encoder_outputs

ROWS = 64  # rows per call, as the pairwise stage asks for them


def through_distances(source, num_points, out, scratch, floor=None):
  for group in range(source.num_fingerprints):
    for start in range(0, num_points, ROWS):
      target = out[:min(num_points, start + ROWS) - start]
      source.fill_twice_rows(group, start, start + len(target), 0, target, scratch)
      np.multiply(target, -0.5, out=target)
      if floor is not None:
        np.maximum(target, floor, out=target)
      np.exp(target, out=target)


def direct(source, num_points, out, scratch):
  for group in range(source.num_fingerprints):
    for start in range(0, num_points, ROWS):
      target = out[:min(num_points, start + ROWS) - start]
      source.fill_coefficient_rows(group, start, start + len(target), target, scratch)


def seconds(function, repeats):
  best = np.inf
  for _ in range(repeats):
    start = time.process_time()
    function()
    best = min(best, time.process_time() - start)
  return best


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--points", type=int, default=1000)
  parser.add_argument("--channels", type=int, default=40)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  from infofrag.fragments import _parallel
  print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
  mus, logvars = encoder_outputs(args.points, args.channels, seed=0)
  out = np.empty((ROWS, args.points))
  elements = args.points * args.points * args.channels
  floor = float(np.log(np.sqrt(np.finfo(np.float64).tiny) * 1e3)) - 1.0
  with _parallel.single_threaded_blas():
    for name, shift in (("VAE-like", 0.0), ("concentrated (variances / 100)", np.log(0.01))):
      source = fragments.LazyFingerprints(mus, logvars + shift)
      scratch = source.new_scratch()
      times = {
          "through D": seconds(lambda: through_distances(source, args.points, out, scratch), args.repeats),
          "through D, floor": seconds(lambda: through_distances(source, args.points, out, scratch, floor),
                                      args.repeats),
          "direct": seconds(lambda: direct(source, args.points, out, scratch), args.repeats)}
      reference, ours = np.empty((args.points, args.points)), np.empty((args.points, args.points))
      worst = 0.0
      for group in range(args.channels):
        source.fill_twice_rows(group, 0, args.points, 0, reference, scratch)
        reference = np.exp(-0.5 * reference)
        source.fill_coefficient_rows(group, 0, args.points, ours, scratch)
        worst = max(worst, float(np.max(np.abs(reference - ours))))
      print(f"{name}: N={args.points}, {args.channels} channels, one thread")
      for label, value in times.items():
        print(f"  {label:18s} {value / elements * 1e9:6.2f} ns per coefficient "
              f"({times['through D'] / value:.2f}x through D)")
      print(f"  largest |direct - through D| = {worst:.2e}")
  print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
  main()
