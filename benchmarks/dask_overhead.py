"""What Dask's own machinery costs beside CPU-bound tasks on a LocalCluster.

Runs the same fixed-CPU tasks (each a loop of 500 x 500 matrix products on one
thread, until it has used `--task_seconds` of CPU) three ways:

  threads   a thread pool of W threads in this process (no Dask): the baseline;
  default   a LocalCluster of W single-threaded workers at Dask's default settings;
  quiet     the LocalCluster `infofrag.distributed.scheduler.connect` starts, with
            `QUIET_DASK_CONFIG` (event-loop tick 1 s, profiler off, monitors 1-2 s).

For each it prints the wall clock, the throughput ratio against the ideal
(tasks x task_seconds / W), and the CPU all processes (client, scheduler,
nannies, workers) used besides the tasks, as a share of one core. Usage:

  python benchmarks/dask_overhead.py [--workers 2 --tasks 8 --task_seconds 3]
"""

import argparse
import concurrent.futures
import os
import time

import numpy as np


def busy(task_seconds, seed):
  """Matrix products on this thread until it has used `task_seconds` of CPU."""
  matrix = np.random.default_rng(seed).random((500, 500))
  start = time.thread_time()
  while time.thread_time() - start < task_seconds:
    matrix @ matrix


def process_tree_cpu():
  """CPU seconds (user + system) of this process and all its descendants alive now."""
  import psutil
  me = psutil.Process()
  total = 0.0
  for process in [me] + me.children(recursive=True):
    try:
      times = process.cpu_times()
    except psutil.NoSuchProcess:
      continue
    total += times.user + times.system
  return total


def run_threads(args):
  from infofrag.fragments import _parallel
  with _parallel.single_threaded_blas(), concurrent.futures.ThreadPoolExecutor(args.workers) as executor:
    cpu, start = process_tree_cpu(), time.perf_counter()
    list(executor.map(busy, [args.task_seconds] * args.tasks, range(args.tasks)))
    return time.perf_counter() - start, process_tree_cpu() - cpu


def run_cluster(args, config):
  import logging
  import dask
  from distributed import Client, LocalCluster
  with dask.config.set(config):
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL)
  with cluster, Client(cluster) as client:
    client.run(lambda: None)
    time.sleep(1.0)  # past the workers' start-up
    cpu, start = process_tree_cpu(), time.perf_counter()
    futures = [client.submit(busy, args.task_seconds, i, pure=False) for i in range(args.tasks)]
    client.gather(futures)
    return time.perf_counter() - start, process_tree_cpu() - cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--tasks", type=int, default=8)
  parser.add_argument("--task_seconds", type=float, default=3.0)
  args = parser.parse_args()
  from infofrag.distributed import scheduler
  ideal = args.tasks * args.task_seconds / args.workers
  task_cpu = args.tasks * args.task_seconds
  print(f"{os.cpu_count()} cores; {args.tasks} tasks of {args.task_seconds} CPU s on "
        f"{args.workers} workers (ideal {ideal:.1f} s); load average {os.getloadavg()[0]:.2f}")
  runs = {"threads": lambda: run_threads(args),
          "default": lambda: run_cluster(args, {}),
          "quiet": lambda: run_cluster(args, scheduler.QUIET_DASK_CONFIG)}
  walls = {}
  for name, run in runs.items():
    wall, cpu = run()
    walls[name] = wall
    other = max(0.0, cpu - task_cpu)
    print(f"  {name:8s} {wall:6.2f} s, throughput {ideal / wall:.3f} of ideal; CPU besides the "
          f"tasks {other:.2f} s = {other / wall:.1%} of one core")
  print(f"  LocalCluster throughput / threads: default {walls['threads'] / walls['default']:.3f}, "
        f"quiet {walls['threads'] / walls['quiet']:.3f}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
  main()
