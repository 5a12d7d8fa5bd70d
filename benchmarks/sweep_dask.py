"""A 4-model training sweep on Dask (local:2) against the local process pool.

The sweep: the circle beta-VAE (gin_configs/circle), beta in {0.03, 0.1} x seeds {0, 1},
STEPS steps at batch 256. Three runs into a scratch folder:
  pool       infofrag.training.sweep.run_sweep, 2 processes (the default path);
  dask       infofrag.distributed.training.run_sweep_on_dask on a LocalCluster of 2;
  dask+kill  the same, with one worker SIGKILLed KILL_AFTER seconds in (its model is
             rerun on a worker and resumes from the checkpoint its training saved on
             the way down).
Prints the wall clock of each and whether every model's final weights (all variables
of its last checkpoint) are bit-identical to the pool's.

Usage: python benchmarks/sweep_dask.py [--steps 600] [--kill_after 40]
"""

import argparse
import os
import signal
import tempfile
import threading
import time

import numpy as np

from infofrag.distributed import scheduler
from infofrag.distributed import training
from infofrag.training import sweep
from infofrag.utils import paths


def final_weights(model_dir):
  """{variable name: array} of the model's last checkpoint (weights, optimizer and data
  state), without the bookkeeping that differs between runs: save counter, elapsed seconds."""
  import tensorflow as tf
  reader = tf.train.load_checkpoint(os.path.join(model_dir, "model", "tf_checkpoint"))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith(("save_counter", "elapsed", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


def identical(root_a, root_b, models):
  same = []
  for model in models:
    a, b = final_weights(model.model_dir(root_a)), final_weights(model.model_dir(root_b))
    same.append(a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a))
  return same


def load():
  return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=600)
  parser.add_argument("--kill_after", type=float, default=40.0, help="seconds into the dask+kill run")
  parser.add_argument("--work_dir", default=None)
  args = parser.parse_args()
  work = args.work_dir or tempfile.mkdtemp(prefix="infofrag-sweep-bench-")
  config = paths.gin_config_path("circle", "beta_vae_circle.gin")
  models = sweep.expand_grid([config], [("vae.beta", ["0.03", "0.1"])], [0, 1],
                             [f"model.training_steps = {args.steps}", "model.batch_size = 256"])
  print(f"4-model sweep, {args.steps} steps each; {os.cpu_count()} cores; work dir {work}; {load()}")
  start = time.perf_counter()
  pool = sweep.run_sweep(models, os.path.join(work, "pool"), processes=2, progress=False)
  print(f"  pool (2 processes): {time.perf_counter() - start:.0f} s, {pool}; {load()}")
  with scheduler.connect("local:2") as client:
    start = time.perf_counter()
    dask = training.run_sweep_on_dask(models, os.path.join(work, "dask"), client=client,
                                      progress=False)
    print(f"  dask local:2: {time.perf_counter() - start:.0f} s, {dask}; identical weights: "
          f"{identical(os.path.join(work, 'pool'), os.path.join(work, 'dask'), models)}; {load()}")
  with scheduler.connect("local:2") as client:
    pids = client.run(os.getpid)
    victim = sorted(pids.items())[0]

    def kill():
      time.sleep(args.kill_after)
      os.kill(victim[1], signal.SIGKILL)
    killer = threading.Thread(target=kill)
    start = time.perf_counter()
    killer.start()
    killed = training.run_sweep_on_dask(models, os.path.join(work, "killed"), client=client,
                                        progress=False)
    killer.join()
    print(f"  dask local:2, worker {victim[0]} killed at {args.kill_after:.0f} s: "
          f"{time.perf_counter() - start:.0f} s, {killed}; identical weights: "
          f"{identical(os.path.join(work, 'pool'), os.path.join(work, 'killed'), models)}; {load()}")


if __name__ == "__main__":
  main()
