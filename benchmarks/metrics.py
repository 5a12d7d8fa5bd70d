"""Times every standard metric on synthetic_dsprites at dlib's default sizes.

Representation: a fixed random linear map (seed 0) of the 8x8 average-pooled image to
10 codes, squashed by tanh: cheap, deterministic, not disentangled. Each metric runs
through its shipped gin config (gin_configs/evaluate/<name>.gin), evaluation seed 0.
DCI is additionally timed on one sample with n_jobs=1 and n_jobs=2 to show the parallel
speed-up and that both give the same numbers.

Usage: python benchmarks/metrics.py [--metrics all] [--scale 1.0] [--skip_dci_comparison]
"""

import argparse
import os
import time
import warnings

import gin
import numpy as np

from infofrag.data import named_data
from infofrag.evaluation import evaluate  # registers dlib's `evaluation` configurable
from infofrag.metrics import dci
from infofrag.metrics import registry
from infofrag.metrics import utils
from infofrag.utils import paths

_SIZE_PARAMETERS = ("num_train", "num_test", "num_eval", "num_variance_estimate")


def make_representation(num_codes=10, seed=0):
  """images [B, 64, 64, 1] -> tanh(pool8(images) @ W) [B, num_codes] float64."""
  weights = np.random.RandomState(seed).randn(64, num_codes)

  def representation(images):
    pooled = images.reshape(len(images), 8, 8, 8, 8).mean(axis=(2, 4)).reshape(len(images), 64)
    return np.tanh(pooled @ weights)
  return representation


def scale_sizes(scale):
  """Shrinks every size parameter of the parsed config by `scale` (at least 2 points)."""
  config = gin.config._CONFIG
  with gin.unlock_config():
    for (_, selector), parameters in list(config.items()):
      for name, value in list(parameters.items()):
        if name in _SIZE_PARAMETERS:
          gin.bind_parameter(f"{selector}.{name}", max(2, int(value * scale)))


def time_metric(name, data, representation, scale):
  gin.clear_config()
  config = paths.gin_config_path("evaluate", f"{name}.gin")
  gin.parse_config_files_and_bindings([config], ["dataset.name = 'synthetic_dsprites'"])
  if scale != 1.0:
    scale_sizes(scale)
  sizes = {f"{selector.split('.')[-1]}.{key}": value
           for (_, selector), parameters in gin.config._CONFIG.items()
           for key, value in parameters.items() if key in _SIZE_PARAMETERS}
  start = time.time()
  result = registry.METRICS[name](data, representation, np.random.RandomState(0))
  elapsed = time.time() - start
  gin.clear_config()
  return elapsed, sizes, result


def compare_dci(data, representation, scale):
  num_train, num_test = int(10000 * scale), int(5000 * scale)
  random_state = np.random.RandomState(0)
  mus_train, ys_train = utils.generate_batch_factor_code(data, representation, num_train,
                                                         random_state, 16)
  mus_test, ys_test = utils.generate_batch_factor_code(data, representation, num_test,
                                                       random_state, 16)
  timings, results, cpu, load = {}, {}, {}, {}
  # n_jobs=2 runs on threads (the shipped backend); "processes" is joblib's loky workers,
  # which the threads replaced because idle workers outlive a killed evaluation.
  shipped = dci.PARALLEL_BACKEND
  for n_jobs, backend in ((1, shipped), (2, shipped), ("processes", "processes")):
    dci.PARALLEL_BACKEND = backend
    start, start_cpu = time.time(), time.process_time()
    results[n_jobs] = dci.compute_dci(mus_train, ys_train, mus_test, ys_test, random_state=0,
                                      n_jobs=2 if n_jobs == "processes" else n_jobs)
    timings[n_jobs] = time.time() - start
    cpu[n_jobs] = time.process_time() - start_cpu
    load[n_jobs] = os.getloadavg()[0]
  dci.PARALLEL_BACKEND = shipped
  numbers = [key for key in results[1] if key != "mode"]
  max_diff = max(abs(results[1][key] - results[other][key]) for key in numbers
                 for other in (2, "processes"))
  print(f"DCI on {num_train}/{num_test} points: serial {timings[1]:.1f} s, n_jobs=2 "
        f"{timings[2]:.1f} s, speed-up {timings[1] / timings[2]:.2f}x, "
        f"max |serial - parallel| = {max_diff:.1e}")
  # Other processes share the cores: the load average says how fair the comparison was.
  print(f"  serial CPU time {cpu[1]:.1f} s; 1-min load average after serial "
        f"{load[1]:.1f}, after parallel {load[2]:.1f} (on {os.cpu_count()} cores)")
  print(f"  n_jobs=2 on threads {timings[2]:.1f} s vs on worker processes "
        f"{timings['processes']:.1f} s: threads/processes time ratio "
        f"{timings[2] / timings['processes']:.2f} (load after {load['processes']:.1f})")
  print(f"  serial:   {results[1]}")
  print(f"  parallel: {results[2]}")
  return timings[2]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--metrics", default="all", help="comma-separated names or 'all'")
  parser.add_argument("--scale", type=float, default=1.0,
                      help="fraction of dlib's default sample sizes (1.0 = defaults)")
  parser.add_argument("--skip_dci_comparison", action="store_true")
  args = parser.parse_args()
  warnings.filterwarnings("ignore")  # sklearn convergence warnings at dlib's settings
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  representation = make_representation()
  names = registry.resolve_metric_names(args.metrics)
  if "dci" in names and not args.skip_dci_comparison:
    compare_dci(data, representation, args.scale)
    names.remove("dci")  # just timed (n_jobs=2 is the shipped config's n_jobs=-1 here)
  for name in names:
    elapsed, sizes, result = time_metric(name, data, representation, args.scale)
    shown = {key: round(value, 4) for key, value in result.items()
             if isinstance(value, (float, int, np.floating, np.integer))}
    print(f"{name:24s} {elapsed:8.1f} s  {sizes}  {shown}")


if __name__ == "__main__":
  main()
