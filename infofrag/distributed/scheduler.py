"""The `--scheduler` option: where Dask tasks run, and a shared-path check.

Values:
  none              run in this process (no Dask);
  local, local:N    start a LocalCluster of N single-threaded worker processes
                    (default: one per core) for the duration of the command;
  tcp://HOST:PORT   connect to a running scheduler;
  PATH              a scheduler file (JSON with the scheduler's "address", as written
                    by `dask scheduler --scheduler-file` or dask-jobqueue).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import socket
from typing import Any, Iterator

# Worker resource that limits trainings to one per worker (`dask worker --resources training=1`).
TRAINING_RESOURCE = "training"

# Dask settings for the LocalCluster `connect` starts. infofrag's tasks are few,
# long and CPU-bound, one per single-threaded worker, so Dask's diagnostics cost
# more than they tell: at the defaults (event-loop tick every 20 ms, the statistical
# profiler every 10 ms, system and memory monitors every 0.5 s and 0.1 s) the
# scheduler, two workers and their nannies used 21-24% of one core beside two busy
# tasks on a 2-core machine; with these, 4% (benchmarks/dask_overhead.py). Memory
# limits are still enforced, checked once a second.
QUIET_DASK_CONFIG = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}

_FORMS = ("none, local, local:N, tcp://HOST:PORT, or the path of a scheduler JSON file "
          "(written by `dask scheduler --scheduler-file=PATH`)")


@dataclasses.dataclass(frozen=True)
class SchedulerSpec:
  """A parsed `--scheduler` value.

  Attributes
  ----------
  kind : {'none', 'local', 'address', 'file'}
  workers : int or None
    For 'local': worker processes (None: one per core).
  address : str or None
    For 'address': the scheduler's tcp:// (or tls://) address.
  path : str or None
    For 'file': the scheduler file.
  """
  kind: str
  workers: int | None = None
  address: str | None = None
  path: str | None = None

  def __str__(self) -> str:
    """The `--scheduler` value this was parsed from (normalised), e.g. ``local:2``."""
    if self.kind == "local":
      return "local" if self.workers is None else f"local:{self.workers}"
    return self.address or self.path or self.kind

  def describe(self) -> str:
    """Human-readable form, e.g. 'LocalCluster of 2 workers'."""
    if self.kind == "none":
      return "in-process"
    if self.kind == "local":
      count = self.workers if self.workers is not None else (os.cpu_count() or 1)
      return f"LocalCluster of {count} worker{'s' if count != 1 else ''}"
    return f"Dask scheduler {self.address or self.path}"


IN_PROCESS = SchedulerSpec("none")


def parse_scheduler(text: str, *, flag: str = "--scheduler") -> SchedulerSpec:
  """Parses a `--scheduler` value; raises ValueError with a one-line message naming `flag`.

  The commands parse the flag once, here, and hand the `SchedulerSpec` on.

  Parameters
  ----------
  text : str
    none | local | local:N | tcp://HOST:PORT (also tls://) | path of an existing
    scheduler JSON file.
  flag : str, keyword-only
    Option name used in error messages.

  Returns
  -------
  SchedulerSpec
  """
  value = str(text).strip()
  if value in ("", "none"):
    return SchedulerSpec("none")
  if value == "local":
    return SchedulerSpec("local")
  match = re.fullmatch(r"local:(\S*)", value)
  if match:
    count = match.group(1)
    if not count.isdigit() or int(count) < 1:
      raise ValueError(f"{flag}={value}: local:N needs a positive number of workers, e.g. local:2.")
    return SchedulerSpec("local", workers=int(count))
  if re.fullmatch(r"(tcp|tls)://[^\s:/]+:\d+", value):
    return SchedulerSpec("address", address=value)
  if "://" in value:
    raise ValueError(f"{flag}={value}: a scheduler address looks like tcp://HOST:PORT.")
  if os.path.isfile(value):
    try:
      with open(value) as f:
        address = json.load(f).get("address")
    except (OSError, ValueError, AttributeError):
      address = None
    if not isinstance(address, str):
      raise ValueError(f"{flag}={value}: not a Dask scheduler file (JSON with an \"address\"); "
                       "write one with `dask scheduler --scheduler-file=PATH`.")
    return SchedulerSpec("file", path=os.path.abspath(value))
  raise ValueError(f"{flag}={value}: expected {_FORMS}.")


@contextlib.contextmanager
def connect(spec: SchedulerSpec | str, *, resources: dict | None = None,
            quiet: bool = True) -> Iterator[object]:
  """A Dask client for `spec` (None for 'none'), closed (and its LocalCluster stopped) on exit.

  Parameters
  ----------
  spec : SchedulerSpec or str
    Parsed or raw `--scheduler` value.
  resources : dict or None, keyword-only
    Resources of each LocalCluster worker (default: {'training': 1}, one training
    per worker). Ignored when connecting to an existing scheduler: give its workers
    `--resources training=1` yourself.
  quiet : bool, keyword-only
    Silence the LocalCluster's log lines below warnings.

  Yields
  ------
  distributed.Client or None
  """
  if isinstance(spec, str):
    spec = parse_scheduler(spec)
  if spec.kind == "none":
    yield None
    return
  import logging
  import dask
  from distributed import Client, LocalCluster
  if spec.kind == "local":
    workers = spec.workers if spec.workers is not None else (os.cpu_count() or 1)
    # Read when the scheduler and workers start; the nannies pass it to the workers.
    with dask.config.set(QUIET_DASK_CONFIG):
      cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                             dashboard_address=None,
                             resources=dict(resources or {TRAINING_RESOURCE: 1}),
                             silence_logs=logging.WARNING if quiet else logging.INFO)
    try:
      with Client(cluster) as client:
        yield client
    finally:
      cluster.close()
    return
  try:
    if spec.kind == "address":
      client = Client(spec.address, timeout="30s")
    else:
      client = Client(scheduler_file=spec.path, timeout="30s")
  except (OSError, TimeoutError) as error:
    raise ConnectionError(f"cannot reach the Dask scheduler {spec.address or spec.path}: "
                          f"{error}; is it running?") from None
  with client:
    yield client


def worker_resources(client: Any) -> dict:
  """{worker address: {resource: amount}} of every worker the scheduler knows now."""
  try:
    info = client.scheduler_info(n_workers=-1)
  except TypeError:  # distributed before 2025: no n_workers, every worker listed
    info = client.scheduler_info()
  return {address: dict(worker.get("resources") or {})
          for address, worker in info["workers"].items()}


class SharedPathError(RuntimeError):
  """An output path is not writable from a worker, or not the same filesystem as here."""


def _write_probe(folder: str, name: str, token: str) -> tuple[str, str]:
  """Runs on a worker: writes `token` to folder/name. Returns (host, error or '')."""
  host = socket.gethostname()
  try:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as f:
      f.write(token)
  except OSError as error:
    return host, f"{type(error).__name__}: {error}"
  return host, ""


def check_shared_path(client: Any, path: str) -> None:
  """Checks that every worker can write under `path` and that its files are visible here.

  Each worker writes a probe file holding a random token into `path`; this process
  reads them back and removes them. Raises SharedPathError naming the path, the
  worker and the fix.

  Parameters
  ----------
  client : distributed.Client or None
    None: nothing to check (in-process).
  path : str
    Output folder (created if missing).
  """
  if client is None:
    return
  folder = os.path.abspath(path)
  workers = sorted(worker_resources(client))
  if not workers:
    raise SharedPathError(f"the Dask scheduler has no workers, so {folder} cannot be checked; "
                          "start workers first.")
  probes = {}
  for address in workers:
    name = f".infofrag-probe-{secrets.token_hex(8)}"
    token = secrets.token_hex(16)
    probes[address] = (name, token, client.submit(_write_probe, folder, name, token,
                                                  workers=[address], pure=False))
  try:
    for address, (name, token, future) in probes.items():
      host, error = future.result()
      if error:
        raise SharedPathError(f"output path {folder} is not writable from Dask worker {address} "
                              f"(host {host}): {error}; give a path on a filesystem every worker "
                              "can write.")
      probe = os.path.join(folder, name)
      try:
        with open(probe) as f:
          seen = f.read()
      except OSError:
        seen = None
      if seen != token:
        raise SharedPathError(f"output path {folder} is not shared: a file written there by Dask "
                              f"worker {address} (host {host}) is not visible here; give a path "
                              "on a filesystem shared by this machine and every worker.")
  finally:
    for name, _, _ in probes.values():
      with contextlib.suppress(OSError):
        os.remove(os.path.join(folder, name))
