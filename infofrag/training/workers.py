"""Long-lived training processes: each starts TensorFlow once and trains models one by one.

Starting a process that trains a model costs ~8-14 s on a 2-core machine (importing
TensorFlow, then tracing the first step), more than a small model's whole training (a
3,000-step circle learner of 64 units trains in ~5 s). A sweep of small models that
started one process per model spent most of its time starting processes. Here a few
worker processes (`python -m infofrag.training.workers`, fed through pipes) each receive
models one at a time and train them in-process with `train.train_with_gin`, the function
`infofrag_train` runs.

Sharing a process is safe because gin is cleared before and after every model
(`train_with_gin`), weights come from stateless seeds, every random op of the loop is
stateless, and op determinism is process-wide: a model trained after others in one
worker has the same weights as the same model trained alone with as many threads
(tests/test_training_workers.py).

* Each model's output (descriptors 1 and 2) goes to its job's log (a sweep's ROOT/<n>.log)
  while it trains; the log is removed when the model finished, and kept, named in the
  status, when it failed.
* A model that raises fails alone: the worker writes the error to the log and takes the
  next model. A worker that dies (killed, out of memory) fails its current model with its
  exit code and is replaced.
* Workers die with the process that started them (Linux: SIGTERM on the parent's death).
  SIGTERM and Ctrl-C make the model in training save a checkpoint before its worker exits,
  so a rerun of the sweep resumes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import traceback
from typing import Callable, Sequence, TextIO
from infofrag.utils import quiet_tensorflow

# Seconds a stopping worker gets to write its model's checkpoint after SIGTERM.
STOP_SECONDS = 60.0


def die_with_parent() -> None:
  """Asks Linux to send this process SIGTERM when its parent dies (no-op elsewhere)."""
  if sys.platform.startswith("linux"):
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _raise_keyboard_interrupt(signum, frame):
  del signum, frame
  raise KeyboardInterrupt  # the training loop saves a checkpoint, then the worker exits


@contextlib.contextmanager
def _output_to(log: TextIO):
  """Points descriptors 1 and 2 (Python's and TensorFlow's C++ output) at `log`."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  try:
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    yield
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for descriptor in saved:
      os.close(descriptor)


def last_line(log_path: str) -> str:
  """The last non-blank line of a log file ('' if none or unreadable)."""
  try:
    with open(log_path, errors="replace") as f:
      lines = [line.strip() for line in f if line.strip()]
  except OSError:
    return ""
  return lines[-1] if lines else ""


def failure_text(reason: str, log_path: str) -> str:
  """Status of a failed training: 'failed (REASON): LAST LOG LINE [log: PATH]'."""
  return f"failed ({reason}): {last_line(log_path)} [log: {log_path}]"


def train_logged(model_dir: str, gin_config_files: Sequence[str], gin_bindings: Sequence[str],
                 log_path: str, *, overwrite: bool = False) -> str:
  """Trains (or resumes) one model here, its output in `log_path`; returns its status.

  Parameters
  ----------
  model_dir : str
    Where the model goes (an interrupted run there is resumed unless `overwrite`).
  gin_config_files, gin_bindings : sequence of str
    Its configuration, as `infofrag_train --gin_config --gin_bindings` take it.
  log_path : str
    Its log; removed when the training succeeds.
  overwrite : bool, keyword-only
    Retrain a finished model from step 0 instead of resuming.

  Returns
  -------
  str
    'trained', or `failure_text` naming the error and the log.

  Raises
  ------
  KeyboardInterrupt
    On Ctrl-C or SIGTERM, after the training saved its checkpoint.
  """
  from infofrag.training import train
  options = train.LoopOptions(progress=False)
  with open(log_path, "w") as log, _output_to(log):
    try:
      results = train.train_with_gin(model_dir, overwrite=overwrite, resume=not overwrite,
                                     gin_config_files=list(gin_config_files),
                                     gin_bindings=list(gin_bindings), options=options)
    except Exception as error:
      traceback.print_exc()
      first = (str(error).strip().splitlines() or [""])[0]
      print(f"infofrag_train: error: {type(error).__name__}: {first}", flush=True)
      failed = type(error).__name__
    else:
      terms = ", ".join(f"{key}={value:.4g}" for key, value in sorted(results.items())
                        if isinstance(value, float))
      print(f"infofrag_train: wrote {model_dir} ({terms})", flush=True)
      failed = None
  if failed:
    return failure_text(failed, log_path)
  os.remove(log_path)
  return "trained"


@dataclasses.dataclass(frozen=True)
class Job:
  """One model for a worker: its number (for the status), folder, log and configuration."""
  number: int
  model_dir: str
  gin_config_files: tuple
  gin_bindings: tuple
  log_path: str
  overwrite: bool = False


# Environment variable telling a worker the descriptors of its two pipes ("JOBS,RESULTS").
_PIPES_VARIABLE = "INFOFRAG_WORKER_PIPES"


def serve() -> None:
  """A worker's life: start TensorFlow once, then train each Job received until None.

  Runs as `python -m infofrag.training.workers` with the pipes named in the environment
  (a fresh interpreter, so no caller's script is imported again, unlike multiprocessing's
  spawn start).
  """
  from multiprocessing import connection
  jobs_fd, results_fd = (int(fd) for fd in os.environ.pop(_PIPES_VARIABLE).split(","))
  jobs = connection.Connection(jobs_fd, writable=False)
  results = connection.Connection(results_fd, readable=False)
  signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
  try:
    quiet_tensorflow.import_tensorflow()
    while True:
      job = jobs.recv()
      if job is None:
        return
      status = train_logged(job.model_dir, job.gin_config_files, job.gin_bindings, job.log_path,
                            overwrite=job.overwrite)
      results.send((job.number, status))
  except (KeyboardInterrupt, EOFError, BrokenPipeError):
    return  # the model's checkpoint is saved; its status says it did not finish


class _Worker:
  """One worker process, the pipes to it and the job it is training (None: idle)."""

  def __init__(self, environment: dict[str, str]) -> None:
    from multiprocessing import connection
    jobs_read, jobs_write = os.pipe()
    results_read, results_write = os.pipe()
    env = dict(os.environ)
    env.update(environment)
    env[_PIPES_VARIABLE] = f"{jobs_read},{results_write}"
    try:
      self.process = subprocess.Popen(
          [sys.executable, "-m", "infofrag.training.workers"], env=env,
          pass_fds=(jobs_read, results_write), preexec_fn=die_with_parent)
    finally:
      os.close(jobs_read)
      os.close(results_write)
    self.jobs = connection.Connection(jobs_write, readable=False)
    self.results = connection.Connection(results_read, writable=False)
    self.job: Job | None = None

  def send(self, job: Job | None) -> bool:
    """Hands over a job (None: stop); False when the worker is gone."""
    try:
      self.jobs.send(job)
    except OSError:
      return False
    self.job = job
    return True

  def result(self) -> tuple | None:
    """(number, status) of the job it finished, or None when it died instead."""
    try:
      return self.results.recv()
    except (EOFError, OSError):
      return None

  def stop(self) -> None:
    """Lets an idle worker exit; SIGTERMs a busy one (its model saves a checkpoint) and waits."""
    with contextlib.suppress(subprocess.TimeoutExpired):
      self.process.wait(5.0 if self.job is None else 0.0)
    if self.process.poll() is None:
      self.process.terminate()
      try:
        self.process.wait(STOP_SECONDS)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
    self.jobs.close()
    self.results.close()


def run_jobs(jobs: Sequence[Job], *, processes: int, environment: dict[str, str],
             on_done: Callable[[int, str], None] = lambda number, status: None) -> dict[int, str]:
  """Trains every job in up to `processes` long-lived workers; returns {number: status}.

  Parameters
  ----------
  jobs : sequence of Job
    In the order they should start.
  processes : int, keyword-only
    Workers (at most one per job).
  environment : dict of str, keyword-only
    Set in each worker before TensorFlow starts (e.g. TF_NUM_INTRAOP_THREADS).
  on_done : callable(number, status), keyword-only
    Called in this process as each job ends.

  Returns
  -------
  dict {job number: 'trained' | failure text}. Jobs not started because of an
  interruption are absent.
  """
  from multiprocessing import connection
  pending: list[Job] = list(jobs)
  status: dict[int, str] = {}
  workers: list[_Worker] = []

  def start_worker() -> None:
    worker = _Worker(environment)
    workers.append(worker)
    give_work(worker)

  def give_work(worker: _Worker) -> None:
    job = pending.pop(0) if pending else None
    if worker.send(job):
      return
    worker.job = None  # it died between two jobs: the job goes to its replacement
    if job is not None:
      pending.insert(0, job)
    retire(worker)

  def retire(worker: _Worker) -> None:
    worker.stop()
    workers.remove(worker)
    if pending:
      start_worker()

  try:
    for _ in range(min(int(processes), len(pending))):
      start_worker()
    while any(worker.job is not None for worker in workers):
      busy = [worker for worker in workers if worker.job is not None]
      ready = connection.wait([worker.results for worker in busy])
      for worker in busy:
        if worker.results not in ready:
          continue
        message = worker.result()
        if message is not None:
          status[message[0]] = message[1]
          on_done(*message)
          give_work(worker)
          continue
        job, worker.job = worker.job, None  # its pipe closed: it died while training
        code = worker.process.wait()
        status[job.number] = failure_text(f"worker exit {code}", job.log_path)
        on_done(job.number, status[job.number])
        retire(worker)
  finally:
    for worker in workers:
      worker.stop()
  return status


if __name__ == "__main__":
  serve()
