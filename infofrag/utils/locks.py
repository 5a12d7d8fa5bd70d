"""One writer per model folder: an exclusive lock held while a model is trained.

The lock is the hidden sibling file ``.<name>.infofrag_lock`` of the folder, locked with
`fcntl.flock`: the operating system releases it when its process ends, however it ends
(a crash or kill -9 leaves no stale lock). The file holds the owner's process id and
host, so a refused trainer can name the running one.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import socket
from typing import Iterator


class FolderLockedError(RuntimeError):
  """Another process holds the folder's lock."""


def lock_path(folder: str) -> str:
  """The lock file of `folder`: ``<parent>/.<name>.infofrag_lock``."""
  folder = os.path.abspath(folder)
  return os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.infofrag_lock")


def _owner(path: str) -> str:
  try:
    with open(path) as f:
      return f.read().strip() or "another process"
  except OSError:
    return "another process"


@contextlib.contextmanager
def exclusive_folder_lock(folder: str, *, purpose: str = "training") -> Iterator[str]:
  """Holds the lock of `folder` for the duration of the block.

  Parameters
  ----------
  folder : str
      The folder to guard (it need not exist yet; its parent is created).
  purpose : str
      What the holder does, for the refusal message.

  Yields
  ------
  str, the lock file's path.

  Raises
  ------
  FolderLockedError
      At once (no waiting) when another process holds the lock, naming it.
  """
  path = lock_path(folder)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  while True:
    handle = open(path, "a+")
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      handle.close()
      raise FolderLockedError(
          f"{os.path.abspath(folder)} is in use: {purpose} by {_owner(path)}; wait for it to "
          "finish (or stop it), or choose another folder.") from None
    # The previous holder may have removed the file between our open and our lock: then
    # we hold a lock on a deleted file, and must lock the one at `path` instead.
    try:
      same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
      same = False
    if same:
      break
    handle.close()
  try:
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} on {socket.gethostname()} since {started}\n")
    handle.flush()
    yield path
  finally:
    with contextlib.suppress(OSError):
      os.remove(path)
    handle.close()
