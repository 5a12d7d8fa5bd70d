"""Prints the import cycles among infofrag's modules and packages; exits 1 if there is one.

    python benchmarks/import_cycles.py

Reads the source with `ast` (lazy imports inside functions included), with the graph and
cycle finder of tests/test_architecture.py, which keeps the tree free of cycles in CI.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests import test_architecture  # after the checkout is on the path


def main() -> int:
  """Prints each cycle at module and package level; returns 1 if any, else 0."""
  found = 0
  for level in ("module", "package"):
    for cycle in test_architecture._cycles(test_architecture._graph(level)):
      print(f"{level} cycle: {' -> '.join(cycle)}")
      found += 1
  print("no import cycle" if not found else f"{found} cycle(s)")
  return 1 if found else 0


if __name__ == "__main__":
  sys.exit(main())
