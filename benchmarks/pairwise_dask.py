"""The blocked pairwise NMI/VI stage on Dask: parity, overhead, scale, faults, inactive channels.

Synthetic posteriors: K channels on N points, each a noisy random mixture of 8 hidden
factors (so channels share information), with log-variances around -3; the inactive
benchmark adds collapsed channels (mean ~0, variance ~1: below 0.01 bits).

  parity    K=1000: --scheduler=local:2 against in-process blocks and against one
            in-process call over all channels (today's zoo path); max differences.
  overhead  K=2000: throughput (channel pairs/s) of local:2 over one in-process call
            on all channels with 2 threads; the target is >= 0.85.
  scale     K=6000 on local:2: peak RSS per worker (target <= 2 GiB), channel pairs per
            second per core, projected wall clock for 18,000 channels on 64 cores.
  faults    K=1000 on local:2 in blocks of 200: one worker is killed (SIGKILL) while
            tasks run; then a client process is killed mid-run and the stage rerun:
            results must equal an undisturbed run; prints the tasks reused.
  inactive  K=1000 of which 40% collapsed: all channels against the active ones only.
  work      K=2000 on one thread (CPU seconds): one symmetric call against its two-block
            decomposition, and the best throughput two workers can reach with whole
            block pairs and with block pairs cut into ranges of points.

Every case prints the load average before and after it. Usage:
  python benchmarks/pairwise_dask.py parity overhead faults inactive [--points 1000]
  python benchmarks/pairwise_dask.py scale      # heavy: run on an idle machine
"""

import argparse
import heapq
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from infofrag import fragments
from infofrag.analysis import pairwise_blocks as pairwise
from infofrag.distributed import scheduler


def synthetic_posteriors(num_channels, num_points, *, collapsed=0, seed=0):
  """(mean, logvar) [N, K]: noisy mixtures of 8 factors, the last `collapsed` channels empty."""
  rng = np.random.default_rng(seed)
  factors = rng.normal(size=(num_points, 8))
  weights = rng.normal(size=(8, num_channels)) * (rng.random((8, num_channels)) < 0.3)
  mean = factors @ weights + 0.3 * rng.normal(size=(num_points, num_channels))
  logvar = rng.normal(-3.0, 0.3, size=(num_points, num_channels))
  if collapsed:
    mean[:, -collapsed:] = 0.001 * rng.normal(size=(num_points, collapsed))
    logvar[:, -collapsed:] = rng.normal(0.0, 0.001, size=(num_points, collapsed))
  return mean, logvar


def load():
  return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def in_process_all(mean, logvar, threads=2):
  """Today's zoo path: one symmetric call over all channels; (nmi, vi, seconds)."""
  start = time.perf_counter()
  terms = fragments.pairwise_information_terms(fragments.LazyFingerprints(mean, logvar),
                                               num_threads=threads)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  return nmi, vi, time.perf_counter() - start


def timed_blocks(mean, logvar, folder, client=None, **kwargs):
  start = time.perf_counter()
  result = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, client=client, **kwargs)
  return result, time.perf_counter() - start


def pairs(count):
  return count * (count - 1) / 2


def worker_peak_rss(client):
  """{worker: peak RSS in GiB} (ru_maxrss of each worker process)."""
  peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
  return {address: kib / 2**20 for address, kib in peaks.items()}


def case_parity(args, work):
  mean, logvar = synthetic_posteriors(1000, args.points)
  print(f"[parity] K=1000 N={args.points}; {load()}")
  here, here_s = timed_blocks(mean, logvar, os.path.join(work, "parity-here"), num_threads=2)
  with scheduler.connect("local:2") as client:
    there, there_s = timed_blocks(mean, logvar, os.path.join(work, "parity-dask"), client=client)
  nmi, vi, whole_s = in_process_all(mean, logvar)
  print(f"  local:2 vs in-process blocks: identical nmi {np.array_equal(here.nmi, there.nmi)}, "
        f"identical vi {np.array_equal(here.vi, there.vi)}, identical information "
        f"{np.array_equal(here.information, there.information)}")
  print(f"  blocks vs one call on all channels: max |d nmi| {np.abs(there.nmi - nmi).max():.2e}, "
        f"max |d vi| {np.abs(there.vi - vi).max():.2e} bits")
  print(f"  seconds: local:2 {there_s:.1f}, in-process blocks {here_s:.1f}, one call {whole_s:.1f}; "
        f"{load()}")


def case_overhead(args, work):
  count = args.channels or 2000
  mean, logvar = synthetic_posteriors(count, args.points)
  print(f"[overhead] K={count} N={args.points}; {load()}")
  _, _, whole_s = in_process_all(mean, logvar)
  with scheduler.connect("local:2") as client:
    _, dask_s = timed_blocks(mean, logvar, os.path.join(work, "overhead"), client=client)
  print(f"  in-process (one call, 2 threads): {whole_s:.1f} s, {pairs(count) / whole_s:,.0f} pairs/s")
  block = pairwise.default_block_channels(count)
  block_pairs = len(pairwise.block_pairs(len(pairwise.block_edges(count, block)) - 1))
  print(f"  local:2 (blocks of {block} channels, {block_pairs} block pairs x "
        f"{pairwise.default_row_chunks(block_pairs, args.points)} ranges of points): {dask_s:.1f} s, "
        f"{pairs(count) / dask_s:,.0f} pairs/s")
  print(f"  throughput ratio local:2 / in-process = {whole_s / dask_s:.3f} (target >= 0.85); {load()}")


def case_work(args, work):
  """CPU seconds on one thread: one symmetric call against its two-block decomposition."""
  del work
  from infofrag.fragments import _parallel
  count = args.channels or 2000
  mean, logvar = synthetic_posteriors(count, args.points)
  half = count // 2
  print(f"[work] K={count} N={args.points}, one thread, CPU seconds; {load()}")

  def cpu(function, *inputs):
    start = time.process_time()
    function(*inputs)
    return time.process_time() - start

  with _parallel.single_threaded_blas():
    whole = cpu(lambda: fragments.pairwise_information_terms(
        fragments.LazyFingerprints(mean, logvar), num_threads=1))
    def block_sums(columns_a, columns_b=None):
      """One task of a whole block pair over all points, as a worker runs it."""
      lazy = lambda columns: fragments.LazyFingerprints(mean[:, columns], logvar[:, columns])
      fragments.pairwise_row_sums(lazy(columns_a), None if columns_b is None else lazy(columns_b),
                                  num_threads=1, max_memory_bytes=pairwise.BLOCK_WORK_BYTES)
    first_half, second_half = slice(0, half), slice(half, count)
    off = cpu(block_sums, first_half, second_half)
    first = cpu(block_sums, first_half)
    second = cpu(block_sums, second_half)
  blocks = off + first + second
  print(f"  one call {whole:.1f} s; blocks {off:.1f} (off-diagonal) + {first:.1f} + {second:.1f} "
        f"(diagonal) = {blocks:.1f} s, {blocks / whole:.2f}x the one call")
  print(f"  whole block pairs over 2 workers: best split {max(off, first + second):.1f} s against "
        f"{whole / 2:.1f} s, throughput ratio at most {whole / 2 / max(off, first + second):.2f}; "
        f"cut into ranges of points (no extra work): at most {whole / blocks:.2f}; {load()}")


def projected_seconds(num_channels, num_points, workers, pair_rows_per_second):
  """Wall clock of the default cut on `workers` single-threaded workers, each computing
  `pair_rows_per_second` (channel pairs x points per second): tasks go in stage order to the
  first free worker, as Dask hands them out; diagonal block pairs count their a(a-1)/2 pairs."""
  edges = pairwise.block_edges(num_channels, pairwise.default_block_channels(num_channels))
  block_pairs = pairwise.block_pairs(len(edges) - 1)
  rows = pairwise.row_edges(num_points,
                            pairwise.default_row_chunks(len(block_pairs), num_points, workers))
  free = [0.0] * workers
  for i, j, r in pairwise.stage_tasks(len(edges) - 1, len(rows) - 1):
    a, b = edges[i + 1] - edges[i], edges[j + 1] - edges[j]
    count = a * b if i != j else a * (a - 1) / 2
    heapq.heappush(free, heapq.heappop(free) + count * (rows[r + 1] - rows[r]) / pair_rows_per_second)
  return max(free), len(block_pairs) * (len(rows) - 1)


def case_scale(args, work):
  count = args.channels or 6000
  mean, logvar = synthetic_posteriors(count, args.points)
  print(f"[scale] K={count} N={args.points} on local:2; {load()}")
  with scheduler.connect("local:2") as client:
    result, seconds = timed_blocks(mean, logvar, os.path.join(work, "scale"), client=client,
                                   progress=True)
    peaks = worker_peak_rss(client)
  rate = pairs(count) / seconds / 2
  print(f"  {seconds:.0f} s ({result.tasks_total} tasks); stored {result.dtype}; peak RSS per worker "
        "(GiB): " + ", ".join(f"{v:.2f}" for v in peaks.values()) + " (target <= 2)")
  naive = pairs(18000) / (rate * 64)
  scheduled, tasks = projected_seconds(18000, args.points, 64, rate * args.points)
  print(f"  {rate:,.0f} channel pairs/s/core at N={args.points}; projected 18,000 channels on 64 "
        f"cores: {naive / 60:.1f} min at this rate on every core, {scheduled / 60:.1f} min with "
        f"the default cut ({tasks} tasks) handed to 64 workers; {load()}")


def _kill_one_worker_when(client, folder, blocks):
  """Waits until `blocks` blocks are on disk, then SIGKILLs one worker process."""
  pids = client.run(os.getpid)
  while len([n for n in os.listdir(os.path.join(folder, "blocks")) if n.endswith(".npz")]) < blocks:
    time.sleep(0.2)
  address, pid = sorted(pids.items())[0]
  os.kill(pid, signal.SIGKILL)
  return address


def case_faults(args, work):
  import threading
  mean, logvar = synthetic_posteriors(1000, args.points)
  print(f"[faults] K=1000 N={args.points}, blocks of 200 (15 block pairs, "
        f"{15 * pairwise.default_row_chunks(15, args.points)} tasks); {load()}")
  reference = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=os.path.join(work, "faults-ref"),
                                              block_channels=200, num_threads=2)
  folder = os.path.join(work, "faults-worker")
  os.makedirs(os.path.join(folder, "blocks"), exist_ok=True)
  with scheduler.connect("local:2") as client:
    killed = {}
    killer = threading.Thread(target=lambda: killed.update(
        address=_kill_one_worker_when(client, folder, 3)))
    killer.start()
    result, seconds = timed_blocks(mean, logvar, folder, client=client, block_channels=200)
    killer.join()
  print(f"  killed worker {killed['address']} after 3 tasks; run completed in {seconds:.0f} s; "
        f"identical to the undisturbed run: nmi {np.array_equal(result.nmi, reference.nmi)}, "
        f"vi {np.array_equal(result.vi, reference.vi)}")
  # A client killed mid-run: a child process runs the stage; it is SIGKILLed after 5 blocks.
  folder = os.path.join(work, "faults-client")
  inputs = os.path.join(work, "faults-inputs.npz")
  np.savez(inputs, mean=mean, logvar=logvar)
  code = ("import numpy as np, sys\n"
          "from infofrag.distributed import pairwise, scheduler\n"
          "if __name__ == '__main__':\n"
          f"  data = np.load({inputs!r})\n"
          "  with scheduler.connect('local:2') as client:\n"
          "    pairwise.pairwise_nmi_vi_blocks(data['mean'], data['logvar'], "
          f"folder={folder!r}, client=client, block_channels=200)\n")
  script = os.path.join(work, "faults_client.py")
  with open(script, "w") as f:
    f.write(code)
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
  child = subprocess.Popen([sys.executable, script], env=env, start_new_session=True)
  blocks = os.path.join(folder, "blocks")
  while not (os.path.isdir(blocks) and len([n for n in os.listdir(blocks) if n.endswith(".npz")]) >= 5):
    time.sleep(0.2)
    if child.poll() is not None:
      break
  os.killpg(child.pid, signal.SIGKILL)  # the client and its LocalCluster
  child.wait()
  done = len([n for n in os.listdir(blocks) if n.endswith(".npz")])
  with scheduler.connect("local:2") as client:
    rerun, seconds = timed_blocks(mean, logvar, folder, client=client, block_channels=200,
                                  progress=True)
  print(f"  killed the client with {done} tasks on disk; rerun reused {rerun.tasks_reused} of "
        f"{rerun.tasks_total} tasks, took {seconds:.0f} s; identical: nmi "
        f"{np.array_equal(rerun.nmi, reference.nmi)}, vi {np.array_equal(rerun.vi, reference.vi)}; "
        f"{load()}")


def case_inactive(args, work):
  count, collapsed = 1000, 400
  mean, logvar = synthetic_posteriors(count, args.points, collapsed=collapsed)
  print(f"[inactive] K={count} N={args.points}, {collapsed} collapsed channels; {load()}")
  information = fragments.information(fragments.LazyFingerprints(mean, logvar))
  active = pairwise.active_channels(information)
  with scheduler.connect("local:2") as client:
    every, every_s = timed_blocks(mean, logvar, os.path.join(work, "inactive-all"), client=client,
                                  block_channels=250)
    some, some_s = timed_blocks(mean, logvar, os.path.join(work, "inactive-active"), client=client,
                                channels=active, block_channels=250)
  # Other blocks and ranges of points: other summation orders, so equal to rounding only.
  difference = np.abs(np.asarray(every.vi)[np.ix_(active, active)] - some.vi).max()
  print(f"  active channels {active.size} of {count} (> {fragments.ACTIVE_BITS} bits); "
        f"all {every_s:.1f} s, active only {some_s:.1f} s: speed-up {every_s / some_s:.2f}x "
        f"(pairs ratio {pairs(count) / pairs(active.size):.2f}x, channels ratio "
        f"{count / active.size:.2f}x); active block of the full VI against the active-only VI: max "
        f"|d vi| {difference:.1e} bits; {load()}")


CASES = {"parity": case_parity, "overhead": case_overhead, "work": case_work, "scale": case_scale,
         "faults": case_faults, "inactive": case_inactive}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("cases", nargs="+", choices=sorted(CASES))
  parser.add_argument("--points", type=int, default=1000, help="N (default 1000)")
  parser.add_argument("--channels", type=int, default=None, help="K for overhead / scale")
  parser.add_argument("--work_dir", default=None, help="scratch folder (default: a temp dir)")
  args = parser.parse_args()
  work = args.work_dir or tempfile.mkdtemp(prefix="infofrag-pairwise-bench-")
  print(f"{os.cpu_count()} cores; work dir {work}")
  for name in args.cases:
    CASES[name](args, work)


if __name__ == "__main__":
  main()
