"""One task runner for every stage that submits work: a thread pool here, or Dask.

::

    with tasks.run_tasks(function, calls, client=client) as finished:
      for index, future in finished:
        future.result()

submits ``function(*call)`` for each call and yields ``(index, future)`` as the tasks
finish (or in the order of `calls` with ``ordered=True``); the caller reads
``future.result()`` and decides what an error means. When the caller is interrupted
(Ctrl-C), the unfinished tasks are cancelled: queued ones never start, running ones finish
and keep what they wrote, and a rerun resumes. When the caller stops on an error, the
tasks already submitted still finish (their results are kept for the rerun).

The Dask client comes from `infofrag.distributed.scheduler.connect`; without one the
tasks run on `threads` threads of this process (1: one after the other).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any


@contextlib.contextmanager
def run_tasks(function: Callable[..., Any], calls: Sequence[Sequence[Any]], *,
              client: Any = None, threads: int = 1, ordered: bool = False,
              submit_options: Mapping[str, Any] | None = None
              ) -> Iterator[Iterator[tuple[int, Any]]]:
  """Submits ``function(*call)`` for every call; yields an iterator of finished tasks.

  Parameters
  ----------
  function : callable
      A module-level function or a `functools.partial` of one (Dask pickles it).
  calls : sequence of sequences
      The positional arguments of each task.
  client : distributed.Client or None, keyword-only
      Where the tasks run; None: a thread pool of `threads` threads here.
  threads : int, keyword-only
      Threads of the in-process pool (at least 1).
  ordered : bool, keyword-only
      Give the tasks in the order of `calls` instead of the order of completion.
  submit_options : mapping or None, keyword-only
      More arguments of ``client.submit`` (e.g. ``resources``); Dask only.

  Yields
  ------
  iterator of (int, future)
      Each task's index in `calls` and its future (``concurrent.futures.Future`` or
      ``distributed.Future``; both have ``result()``), once it finished.
  """
  if client is None:
    executor = concurrent.futures.ThreadPoolExecutor(max(1, int(threads)))
    futures = [executor.submit(function, *call) for call in calls]
    cancel = lambda: [future.cancel() for future in futures]
    finished = futures if ordered else concurrent.futures.as_completed(futures)
  else:
    from distributed import as_completed
    executor = None
    futures = [client.submit(function, *call, pure=False, **dict(submit_options or {}))
               for call in calls]
    cancel = lambda: client.cancel([future for future in futures if not future.done()])
    finished = futures if ordered else as_completed(futures)
  index_of = {future: index for index, future in enumerate(futures)}
  try:
    yield ((index_of[future], future) for future in finished)
  except (KeyboardInterrupt, SystemExit):
    cancel()  # stop at the running tasks instead of working through the queue
    raise
  finally:
    if executor is not None:
      executor.shutdown(wait=True)

