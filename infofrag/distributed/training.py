"""A training sweep on Dask: one task per model, the same resumable training as `run_sweep`.

Each task runs `python -m infofrag.cli.train --model_dir=ROOT/<n> --resume ...`
(`sweep.training_command`) on a worker and waits for it; ROOT/<n>.log holds its output
(kept on failure). A fresh process per model, unlike the local sweep's long-lived
workers: a Dask worker runs tasks on threads, where gin's global config and the
signal handlers that save checkpoints cannot be used. The layout, numbering, skipping of finished models and
ROOT/sweep.json are `run_sweep`'s.

* One training per worker: tasks ask for one unit of the worker resource
  `training` (every LocalCluster worker has one; give real workers
  `--resources training=1`). Without it anywhere, tasks go to any free thread.
* A killed worker: the scheduler reruns its task on another worker, which
  resumes the model from its last checkpoint (--resume). The training process
  is tied to its worker (Linux: it gets SIGTERM when the worker dies, and
  SIGTERM makes it save a checkpoint and stop), and it holds a lock on
  ROOT/.<n>.lock until it exits, which the rerun waits for: no two processes
  ever train one model.
* ROOT must be on a path every worker can write and this process can read;
  `scheduler.check_shared_path` is run first.
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import sys
from typing import Any

from infofrag.distributed import scheduler
from infofrag.distributed import tasks
from infofrag.training import sweep
from infofrag.training import workers


def train_model(model: sweep.SweepModel, root: str, *, overwrite: bool = False,
                threads: int | None = None, trainings_by_host: dict | None = None) -> str:
  """One task: trains (or resumes) one sweep model in a child process; returns its status.

  Parameters
  ----------
  model : SweepModel
    Its configs and bindings; trained into ROOT/<model_num>.
  root : str
    The sweep's folder (shared with the client).
  overwrite : bool, keyword-only
    Retrain a finished model (--overwrite) instead of resuming (--resume).
  threads : int or None, keyword-only
    TensorFlow intra-op threads (None: this host's cores shared among the
    trainings that can run on it, as `run_sweep` does).
  trainings_by_host : dict or None, keyword-only
    {worker host address: trainings at once there}, from `trainings_by_host(client)`.

  Returns
  -------
  str: 'trained' or 'failed (exit CODE): LAST LOG LINE [log: PATH]'.
  """
  if threads is None:
    threads = max(1, (os.cpu_count() or 1) // _trainings_on_this_host(trainings_by_host))
  env = sweep.training_env(1)
  env["TF_NUM_INTRAOP_THREADS"] = os.environ.get("TF_NUM_INTRAOP_THREADS", str(threads))
  log_path = os.path.join(root, f"{model.model_num}.log")
  # A lock per model, held by the training process itself (it inherits the descriptor):
  # the rerun of a task whose worker died waits here until that worker's training has
  # saved its checkpoint and exited, so two processes never write one model.
  lock = os.open(os.path.join(root, f".{model.model_num}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
  try:
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(log_path, "w") as log:
      process = subprocess.Popen(sweep.training_command(model, root, overwrite), stdout=log,
                                 stderr=subprocess.STDOUT, env=env, pass_fds=(lock,),
                                 preexec_fn=workers.die_with_parent)
  finally:
    os.close(lock)
  try:
    returncode = process.wait()
  finally:
    if process.poll() is None:  # this task was interrupted: let it checkpoint and stop
      process.terminate()
      process.wait()
  if returncode == 0:
    os.remove(log_path)
    return "trained"
  return workers.failure_text(f"exit {returncode}", log_path)


def _trainings_on_this_host(trainings_by_host: dict | None) -> int:
  """Trainings that can run at once on this task's host (1 outside a Dask worker)."""
  if not trainings_by_host:
    return 1
  try:
    from distributed import get_worker
    host = get_worker().address.rsplit(":", 1)[0]
  except (ImportError, ValueError):
    return 1
  return max(1, int(trainings_by_host.get(host, 1)))


def trainings_by_host(client: Any) -> dict:
  """{worker host address: workers there that can train} for the client's cluster now."""
  resources = scheduler.worker_resources(client)
  training = [a for a, r in resources.items() if r.get(scheduler.TRAINING_RESOURCE)]
  counts = {}
  for address in training or list(resources):
    host = address.rsplit(":", 1)[0]
    counts[host] = counts.get(host, 0) + 1
  return counts


def run_sweep_on_dask(models: list, root: str, *, client: Any, progress: bool = True,
                      overwrite: bool = False) -> dict:
  """Trains every unfinished model as a Dask task; returns {model_num: status} like `run_sweep`.

  Parameters
  ----------
  models : list of SweepModel
  root : str
    Sweep folder, on a filesystem shared by this process and the workers.
  client : distributed.Client, keyword-only
  progress : bool, keyword-only
    A bar on stderr counting models.
  overwrite : bool, keyword-only
    Retrain finished models.

  Returns
  -------
  dict {model_num: 'trained' | 'skipped' | error text}; ROOT/sweep.json is written
  at the end (also after an interruption).

  Raises
  ------
  scheduler.SharedPathError
    ROOT is not writable from a worker, or not visible here.
  """
  from tqdm import tqdm
  status, pending = sweep.plan_sweep(models, root, overwrite=overwrite)
  scheduler.check_shared_path(client, root)
  resources = scheduler.worker_resources(client)
  limit = {scheduler.TRAINING_RESOURCE: 1}
  if not any(r.get(scheduler.TRAINING_RESOURCE) for r in resources.values()):
    limit = None
    print("infofrag: no Dask worker has the 'training' resource, so trainings go to any free "
          "worker thread; start workers with `--resources training=1` for one per worker.",
          file=sys.stderr)
  at_once = trainings_by_host(client)
  bar = tqdm(total=len(models), initial=len(models) - len(pending), desc="training sweep",
             unit="model", disable=not progress, file=sys.stderr)
  train = functools.partial(train_model, root=os.path.abspath(root), overwrite=overwrite,
                            trainings_by_host=at_once)
  try:
    with tasks.run_tasks(train, [(model,) for model in pending], client=client,
                         submit_options={"resources": limit}) as finished:
      for index, future in finished:
        try:
          status[pending[index].model_num] = future.result()
        except Exception as error:
          # e.g. KilledWorker after the scheduler's allowed failures: one line, keep going.
          status[pending[index].model_num] = f"failed on Dask: {type(error).__name__}: {error}"
        bar.update(1)
  finally:
    bar.close()
    sweep.write_manifest(models, root, status)
  return status


def train_sweep(models: list, root: str, *,
                scheduler_spec: scheduler.SchedulerSpec = scheduler.IN_PROCESS, processes: int = 2,
                progress: bool = True, overwrite: bool = False) -> dict:
  """Trains a sweep here (`sweep.run_sweep`, `processes` at once) or on Dask.

  Parameters
  ----------
  models : list of SweepModel
  root : str
      The zoo folder ROOT/<n>/.
  scheduler_spec : SchedulerSpec, keyword-only
      The parsed ``--scheduler``: "none" trains in local processes; anything else connects
      (or starts a LocalCluster) and runs one task per model (`run_sweep_on_dask`).

  Returns
  -------
  dict {model_num: 'trained' | 'skipped' | error text}

  Raises
  ------
  scheduler.SharedPathError, ConnectionError
      ROOT not shared with the workers, or no scheduler at that address.
  """
  if scheduler_spec.kind == "none":
    return sweep.run_sweep(models, root, processes=processes, progress=progress,
                           overwrite=overwrite)
  with scheduler.connect(scheduler_spec) as client:
    return run_sweep_on_dask(models, root, client=client, progress=progress, overwrite=overwrite)
