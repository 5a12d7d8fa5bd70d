"""infofrag.distributed: --scheduler parsing, the shared-path check, and the blocked
pairwise stage (against the zoo's in-process stage, resumed, on a LocalCluster)."""

import json
import os
import types

import numpy as np
import pytest

from infofrag.analysis import embedding
from infofrag.analysis import pairwise as zoo_pairwise
from infofrag.analysis import pairwise_blocks as pairwise
from infofrag.distributed import scheduler


def _posteriors(num_points=150, num_channels=45, seed=0):
  """Channels with shared structure (copies, noisy copies) and a few collapsed ones."""
  rng = np.random.default_rng(seed)
  mean = rng.normal(size=(num_points, num_channels))
  mean[:, 10:20] = 0.8 * mean[:, :10] + 0.3 * rng.normal(size=(num_points, 10))
  mean[:, 20:23] = mean[:, 3:6]
  logvar = rng.normal(-2.0, 0.4, size=(num_points, num_channels))
  logvar[:, 20:23] = logvar[:, 3:6]
  mean[:, -4:], logvar[:, -4:] = 0.01 * rng.normal(size=(num_points, 4)), -0.001
  return mean, logvar


@pytest.fixture(scope="module")
def client():
  with scheduler.connect("local:2") as dask_client:
    yield dask_client


def test_parse_scheduler_values_and_errors(tmp_path):
  assert scheduler.parse_scheduler("none").kind == "none"
  assert scheduler.parse_scheduler("local") == scheduler.SchedulerSpec("local")
  assert scheduler.parse_scheduler("local:3").workers == 3
  assert scheduler.parse_scheduler("tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
  good = tmp_path / "scheduler.json"
  good.write_text(json.dumps({"address": "tcp://node7:8786", "type": "Scheduler"}))
  assert scheduler.parse_scheduler(str(good)).path == str(good)
  bad = tmp_path / "bad.json"
  bad.write_text("{}")
  for value, message in [("local:0", "positive number"), ("local:x", "positive number"),
                         ("tcp://host", "tcp://HOST:PORT"), (str(bad), "not a Dask scheduler file"),
                         ("sge", "expected none, local")]:
    with pytest.raises(ValueError, match=message) as error:
      scheduler.parse_scheduler(value)
    assert str(error.value).startswith(f"--scheduler={value}:") and "\n" not in str(error.value)


def test_blocks_equal_the_zoo_stage_in_both_of_its_paths(tmp_path, monkeypatch):
  mean, logvar = _posteriors()
  # Three "models" of 15 channels; the zoo stage keys its cache by the model dirs.
  monkeypatch.setattr(embedding, "model_key", lambda model_dir: os.path.basename(model_dir))
  embeddings = [types.SimpleNamespace(info=types.SimpleNamespace(model_dir=f"/zoo/{m}"),
                                      mean=mean[:, 15 * m:15 * (m + 1)],
                                      logvar=logvar[:, 15 * m:15 * (m + 1)]) for m in range(3)]
  every = np.arange(45)
  whole = zoo_pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path / "one"),
                                         channels=every, progress=False)
  blocked = zoo_pairwise.ensemble_pairwise(embeddings, cache_dir=str(tmp_path / "blocked"),
                                           channels=every, progress=False,
                                           max_accumulator_bytes=80 * 46 * 21)
  result = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "pw"),
                                           block_channels=16, num_threads=2)
  # 3 blocks -> 6 block pairs; N = 150 -> 3 ranges of points (MIN_TASKS, MIN_ROWS_PER_TASK).
  assert result.tasks_total == 18 and result.dtype == "float64"
  active = pairwise.active_channels(result.information)
  assert active.size == 41
  for nmi, vi, information in ((m.nmi, m.vi, m.information) for m in (whole, blocked)):
    # NMI of a channel without information divides by its ~0 entropy term, which
    # amplifies rounding: those are the inactive channels the stage skips in use.
    np.testing.assert_allclose(result.nmi[np.ix_(active, active)], nmi[np.ix_(active, active)],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.vi, vi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.information, information, rtol=0, atol=1e-12)
  assert np.array_equal(result.nmi, result.nmi.T) and np.array_equal(result.vi, result.vi.T)
  # The copies are found: NMI ~1 and VI ~0 between channel 3 and its copy 20.
  assert result.nmi[3, 20] > 0.999 and abs(result.vi[3, 20]) < 1e-9


def test_subset_of_channels_is_the_submatrix(tmp_path):
  mean, logvar = _posteriors()
  full = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "all"), block_channels=20)
  active = pairwise.active_channels(full.information)
  assert active.size == mean.shape[1] - 4 and active.max() == mean.shape[1] - 5  # collapsed ones out
  part = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "some"), channels=active,
                                         block_channels=20)
  assert np.array_equal(part.channels, active)
  np.testing.assert_allclose(part.nmi, full.nmi[np.ix_(active, active)], rtol=0, atol=1e-12)
  np.testing.assert_allclose(part.vi, full.vi[np.ix_(active, active)], rtol=0, atol=1e-12)
  with pytest.raises(ValueError, match="distinct indices"):
    pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "x"), channels=[0, 0])


def test_rerun_reuses_finished_tasks_and_new_inputs_discard_them(tmp_path, monkeypatch):
  mean, logvar = _posteriors()
  folder = str(tmp_path / "pw")
  reference = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "ref"),
                                              block_channels=10, row_chunks=2)
  assert reference.tasks_total == 30 and reference.tasks_reused == 0  # 15 block pairs x 2 ranges
  assert os.listdir(tmp_path / "ref" / "blocks") == []  # assembled: the tasks' files are gone
  # Two tasks die (as with a killed worker): the run fails after the others finished.
  run_task = pairwise.run_task

  def dying(folder_, i, j, r):
    if (i, j, r) in {(0, 1, 1), (3, 3, 0)}:
      raise MemoryError("killed")
    return run_task(folder_, i, j, r)
  monkeypatch.setattr(pairwise, "run_task", dying)
  with pytest.raises(MemoryError):
    pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10, row_chunks=2)
  assert not os.path.exists(os.path.join(folder, "nmi.npy"))
  assert len(os.listdir(os.path.join(folder, "blocks"))) == 28
  monkeypatch.setattr(pairwise, "run_task", run_task)
  again = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10,
                                          row_chunks=2)
  assert again.tasks_reused == 28
  assert pairwise._block_fingerprints.cache_info().currsize == 0  # released after the stage
  assert np.array_equal(again.nmi, reference.nmi) and np.array_equal(again.vi, reference.vi)
  # Asked again: the assembled stage is returned as it is.
  assert pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10,
                                         row_chunks=2).tasks_reused == 30
  # Another cut of the points is another plan: nothing reused, the same numbers to rounding.
  recut = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10,
                                          row_chunks=3)
  assert recut.tasks_total == 45 and recut.tasks_reused == 0
  np.testing.assert_allclose(recut.vi, reference.vi, rtol=0, atol=1e-12)
  changed = pairwise.pairwise_nmi_vi_blocks(1.5 * mean, logvar, folder=folder, block_channels=10,
                                            row_chunks=3)
  assert changed.tasks_reused == 0 and not np.allclose(changed.vi, reference.vi)
  # Nothing of the earlier inputs (e.g. fingerprints kept in memory for the next tasks) leaks in.
  fresh = pairwise.pairwise_nmi_vi_blocks(1.5 * mean, logvar, folder=str(tmp_path / "fresh"),
                                          block_channels=10, row_chunks=3)
  assert np.array_equal(changed.vi, fresh.vi) and np.array_equal(changed.nmi, fresh.nmi)
  with pytest.raises(ValueError, match="row_chunks must be an integer in 1..N = 150"):
    pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, row_chunks=151)


def test_ctrl_c_stops_at_the_running_tasks_and_keeps_them(tmp_path):
  mean, logvar = _posteriors()
  folder = str(tmp_path / "pw")

  def interrupt(done, total):
    raise KeyboardInterrupt
  with pytest.raises(KeyboardInterrupt):
    pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10, row_chunks=2,
                                    num_threads=2, progress=interrupt)
  kept = len(os.listdir(os.path.join(folder, "blocks")))
  assert 1 <= kept < 10  # the first task and the few running beside it, not the 30
  again = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10,
                                          row_chunks=2)
  assert again.tasks_reused == kept and again.tasks_total == 30


def test_a_rerun_keeps_the_cut_it_started_with(tmp_path, monkeypatch):
  mean, logvar = _posteriors()
  folder = str(tmp_path / "pw")
  run_task = pairwise.run_task
  monkeypatch.setattr(pairwise, "run_task", lambda f, i, j, r: (
      run_task(f, i, j, r) if (i, j, r) != (0, 1, 2) else 1 / 0))
  with pytest.raises(ZeroDivisionError):  # 8 threads: 32 tasks wanted, 15 block pairs x 3 ranges
    pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10, num_threads=8)
  monkeypatch.setattr(pairwise, "run_task", run_task)
  # Alone, one thread would cut 2 ranges (16 tasks wanted); resuming, it keeps the 3.
  again = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=10,
                                          num_threads=1)
  assert again.tasks_total == 45 and again.tasks_reused == 44


def test_default_cut_gives_enough_tasks_without_tiny_ranges():
  assert pairwise.default_row_chunks(3, 1000) == 6     # K = 2,000 in two blocks: 18 tasks
  assert pairwise.default_row_chunks(21, 1000) == 1    # K = 6,000: 21 block pairs suffice
  assert pairwise.default_row_chunks(1, 120) == 2      # ranges of at least 50 points
  assert pairwise.default_row_chunks(1, 30) == 1
  # Many workers: four tasks each (K = 18,000 in blocks of 2,000 on 64 workers: 45 x 6 tasks).
  assert pairwise.default_row_chunks(45, 1000, 64) == 6
  assert pairwise.default_row_chunks(3, 1000, 4) == pairwise.default_row_chunks(3, 1000, 1)
  assert list(pairwise.row_edges(10, 3)) == [0, 3, 6, 10]


def test_large_matrices_are_stored_in_float32_and_memory_mapped(tmp_path):
  mean, logvar = _posteriors()
  folder = str(tmp_path / "pw")
  small = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=folder, block_channels=45,
                                          float32_above_bytes=1000)
  with open(os.path.join(folder, "pairwise.json")) as f:
    assert json.load(f)["dtype"] == "float32"
  assert small.dtype == "float32" and small.vi.dtype == np.float32
  assert isinstance(small.nmi, np.memmap)
  full = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "f64"), block_channels=45)
  np.testing.assert_array_equal(small.vi, full.vi.astype(np.float32))


def test_local_cluster_gives_identical_matrices_and_checks_the_path(tmp_path, client):
  mean, logvar = _posteriors()
  here = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "here"), block_channels=12)
  seen = []
  there = pairwise.pairwise_nmi_vi_blocks(mean, logvar, folder=str(tmp_path / "there"), client=client,
                                          block_channels=12, progress=lambda done, total: seen.append(done))
  assert np.array_equal(here.nmi, there.nmi) and np.array_equal(here.vi, there.vi)
  assert np.array_equal(here.information, there.information)
  assert sorted(seen) == list(range(1, 21))  # 10 block pairs x 2 ranges of points
  scheduler.check_shared_path(client, str(tmp_path / "out"))
  assert os.listdir(tmp_path / "out") == []  # probes removed
  (tmp_path / "file").write_text("")
  with pytest.raises(scheduler.SharedPathError, match="not writable from Dask worker"):
    scheduler.check_shared_path(client, str(tmp_path / "file" / "out"))
