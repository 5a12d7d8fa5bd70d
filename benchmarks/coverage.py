"""Coverage of the per-group intervals on simulated ensembles with known structure.

Draws ensembles from `infofrag.analysis.simulation.make_population` (two discrete factors
and one latent signal shared with probabilities 0.9, 0.8, 0.6; three private slots each
informative with probability 0.5; N = 200 points), computes each group statistic and its
95% interval exactly as the zoo analysis does (delete-d jackknife over models, OPTICS
redone on each resample, min_samples 3), and counts how often the interval holds the true
value. With --bootstrap it also measures the percentile bootstrap over models (repeated
models clustered as drawn), the method the analysis does not use.

  PYTHONPATH=. python benchmarks/coverage.py [--models 5 10] [--repeats 200] [--resamples 200] [--bootstrap]
"""

import argparse
import os
import time

import numpy as np

from infofrag.analysis import simulation


def binomial_interval(hits: float, repeats: int) -> tuple[float, float]:
  """Wilson 95% interval of a coverage rate measured over `repeats` repeats."""
  z = 1.959963984540054
  centre = (hits + z * z / (2 * repeats)) / (1 + z * z / repeats)
  half = z * np.sqrt(hits * (1 - hits) / repeats + z * z / (4 * repeats * repeats)) / (
      1 + z * z / repeats)
  return centre - half, centre + half


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", type=int, nargs="+", default=[5, 10])
  parser.add_argument("--repeats", type=int, default=200)
  parser.add_argument("--resamples", type=int, default=200)
  parser.add_argument("--points", type=int, default=200)
  parser.add_argument("--bootstrap", action="store_true",
                      help="also measure the percentile bootstrap (slower)")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  population = simulation.make_population(num_points=args.points)
  truth = simulation.true_values(population)
  print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; N = {args.points}, "
        f"{args.repeats} repeats, up to {args.resamples} resamples")
  print("true values: " + ", ".join(f"{k} {v:.3f}" for k, v in truth.items()))
  for num_models in args.models:
    start = time.perf_counter()
    result = simulation.coverage(population, num_models=num_models, repeats=args.repeats,
                                 resamples=args.resamples, seed=args.seed + num_models,
                                 with_bootstrap=args.bootstrap, truth=truth)
    seconds = time.perf_counter() - start
    print(f"\n{num_models} models per group ({seconds:.0f} s, load {os.getloadavg()[0]:.2f}):")
    print("| statistic | jackknife coverage | (95% interval of the rate) | mean width |"
          + (" bootstrap coverage |" if args.bootstrap else ""))
    print("|---|---|---|---|" + ("---|" if args.bootstrap else ""))
    boot = result.bootstrap_rates()
    for index, (name, rate) in enumerate(result.rates().items()):
      low, high = binomial_interval(rate, args.repeats)
      line = (f"| {name} | {rate:.3f} | [{low:.3f}, {high:.3f}] | "
              f"{np.nanmean(result.widths[:, index]):.3f} |")
      if boot is not None:
        line += f" {boot[name]:.3f} |"
      print(line)
  print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
  main()
