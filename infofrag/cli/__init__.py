"""infofrag.cli: the command-line programs (console scripts infofrag_*, bin/dlib_*).

Each module turns flags into one call of the library and prints the result. Figures are
written to files, never shown: the commands draw with matplotlib's Agg backend unless the
user chose another (MPLBACKEND); the library itself never picks a backend.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
