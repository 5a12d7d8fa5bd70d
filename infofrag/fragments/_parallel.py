"""Row-range parallelism: our own threads, each calling single-threaded BLAS.

numpy releases the GIL in BLAS calls and large ufuncs, so W threads working on
disjoint row ranges use W cores. BLAS is held to one thread meanwhile: its own
threading spins on small per-row products and collapses (10-50x slower) when
the cores are shared with other processes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os

from infofrag.utils import checks


def resolve_num_threads(num_threads):
  """None -> the number of CPUs (at most 8); otherwise a positive int."""
  if num_threads is None:
    return max(1, min(8, os.cpu_count() or 1))
  return checks.check_positive_int(num_threads, name="num_threads")


@contextlib.contextmanager
def single_threaded_blas():
  """Limits BLAS to one thread inside the block (threadpoolctl ships with scikit-learn)."""
  import threadpoolctl
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    yield


def split_range(total, parts):
  """[(first, last)] contiguous, nearly equal ranges covering 0..total-1 (no empty ones)."""
  parts = max(1, min(parts, total))
  edges = [total * k // parts for k in range(parts + 1)]
  return [(edges[k], edges[k + 1]) for k in range(parts)]


def run_workers(function, num_workers):
  """[function(worker) for worker in 0..num_workers-1], run in threads, in order."""
  with single_threaded_blas():
    if num_workers == 1:
      return [function(0)]
    with concurrent.futures.ThreadPoolExecutor(num_workers) as executor:
      futures = [executor.submit(function, worker) for worker in range(num_workers)]
      return [future.result() for future in futures]


def map_ranges(function, total, num_threads):
  """[function(first, last)] over `num_threads` contiguous ranges of 0..total-1, in order."""
  ranges = split_range(total, num_threads)
  return run_workers(lambda worker: function(*ranges[worker]), len(ranges))
