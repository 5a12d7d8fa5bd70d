"""Infinite stream of training batches, generated in a background thread.

Batches are drawn with `dataset.sample_training_observations(batch_size, random_state)` from
`np.random.RandomState(seed)`, like dlib's `tf_data_set_from_ground_truth_data` (dlib
draws one example at a time; infofrag draws a whole batch per call, which is much
faster for procedurally rendered data, so the two streams differ example by example).

Every batch comes with the generator state *after* drawing it, so a checkpoint taken
after consuming batch k can store exactly where the stream must continue: resuming
from that state reproduces the remaining batches bit for bit.
Pure numpy + threading: no TensorFlow import.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

import numpy as np

from infofrag.data.ground_truth import ground_truth_data


def state_to_arrays(state: tuple) -> dict[str, np.ndarray]:
  """np.random.RandomState.get_state() tuple -> {name: numpy array} (checkpointable)."""
  name, keys, pos, has_gauss, cached_gaussian = state
  if name != "MT19937":
    raise ValueError(f"Unsupported random state type {name!r}.")
  return {
      "keys": np.asarray(keys, dtype=np.int64),
      "pos": np.int64(pos),
      "has_gauss": np.int64(has_gauss),
      "cached_gaussian": np.float64(cached_gaussian),
  }


def arrays_to_state(arrays: Mapping[str, np.ndarray]) -> tuple:
  """Inverse of `state_to_arrays`."""
  return ("MT19937", np.asarray(arrays["keys"], dtype=np.uint32), int(arrays["pos"]),
          int(arrays["has_gauss"]), float(arrays["cached_gaussian"]))


class BatchStream:
  """Prefetching iterator of (batch [B, *observation_shape] float32, state after it).

  Parameters
  ----------
  dataset : GroundTruthData
  batch_size : int
      Examples per batch.
  random_state : numpy.random.RandomState
      Owned by the stream from now on.
  prefetch : int
      Batches generated ahead of the consumer.
  """

  def __init__(self, dataset: ground_truth_data.GroundTruthData, batch_size: int,
               random_state: np.random.RandomState, prefetch: int = 4) -> None:
    self._dataset = dataset
    self._batch_size = int(batch_size)
    self._random_state = random_state
    self._queue = queue.Queue(maxsize=max(1, int(prefetch)))
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._produce, name="infofrag-batches", daemon=True)
    self._thread.start()

  def _produce(self):
    try:
      while not self._stop.is_set():
        batch = np.asarray(
            self._dataset.sample_training_observations(self._batch_size, self._random_state),
            dtype=np.float32)
        item = (batch, self._random_state.get_state())
        while not self._stop.is_set():
          try:
            self._queue.put(item, timeout=0.1)
            break
          except queue.Full:
            continue
    except BaseException as error:  # Surface generator errors in the consumer.
      self._queue.put((error, None))

  def next(self) -> tuple[np.ndarray, tuple]:
    """The next (batch, random state after the batch)."""
    batch, state = self._queue.get()
    if isinstance(batch, BaseException):
      raise RuntimeError(f"Generating training data failed: {batch}") from batch
    return batch, state

  def close(self) -> None:
    """Stops the producer thread."""
    self._stop.set()
    while True:  # Unblock a producer waiting on a full queue.
      try:
        self._queue.get_nowait()
      except queue.Empty:
        break
    self._thread.join(timeout=5)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
