"""infofrag.distributed: the heavy stages as Dask tasks (local cluster or a real one).

* `scheduler`: the `--scheduler` value, a client context, and a check that an
  output path is shared with (and writable from) the workers.
* `pairwise`: NMI / VI between channels, one task per pair of channel blocks and
  range of points, each task persisted so that a rerun resumes.
* `training`: a sweep as one Dask task per model, resumable like `run_sweep`.

Dask is imported only when a client is started, so the in-process paths do not need it.
"""

from __future__ import annotations

