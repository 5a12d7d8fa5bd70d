"""Pinned tables: an analysis's CSV tables recorded once, compared value by value later.

The refactors of the middle layers must leave every number unchanged. `read_tables` reads
the tables of an output folder (paths made relative to the zoo, so a temporary folder's
name does not count), `differences` compares them with a recording: numbers to 1e-12
(relative and absolute), everything else exactly.

Record anew (only when a change of numbers is intended, and say so in the commit):

    python -m tests.helpers.pinned_tables OUT ZOO tests/data/pinned_tables.json
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys

TABLES = ("models", "groups", "spaces", "hotspots", "model_similarity", "fusion")
TOLERANCE = 1e-12


def read_tables(out: str, zoo: str) -> dict[str, list[dict[str, str]]]:
  """{table name: rows} of the CSV tables in `out`, with `zoo` replaced by '<zoo>'."""
  tables = {}
  for name in TABLES:
    with open(os.path.join(out, f"{name}.csv"), newline="") as f:
      tables[name] = [{key: value.replace(zoo, "<zoo>") for key, value in row.items()}
                      for row in csv.DictReader(f)]
  return tables


def _number(text: str) -> float | None:
  try:
    return float(text)
  except ValueError:
    return None


def _same(expected: str, found: str) -> bool:
  a, b = _number(expected), _number(found)
  if a is None or b is None:
    return expected == found
  if math.isnan(a) or math.isnan(b):
    return math.isnan(a) and math.isnan(b)
  return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def differences(expected: dict[str, list[dict[str, str]]],
                found: dict[str, list[dict[str, str]]]) -> list[str]:
  """Human-readable differences between a recording and the tables found (empty if none)."""
  problems = []
  for name, rows in expected.items():
    got = found.get(name, [])
    if len(got) != len(rows):
      problems.append(f"{name}: {len(got)} rows, expected {len(rows)}")
      continue
    for number, (want, have) in enumerate(zip(rows, got)):
      if list(want) != list(have):
        problems.append(f"{name} row {number}: columns {list(have)}, expected {list(want)}")
        continue
      problems.extend(f"{name} row {number} {column}: {have[column]!r}, expected {value!r}"
                      for column, value in want.items() if not _same(value, have[column]))
  return problems


if __name__ == "__main__":
  out_dir, zoo_dir, target = sys.argv[1:4]
  with open(target, "w") as f:
    json.dump(read_tables(out_dir, zoo_dir), f, indent=1, sort_keys=False)
    f.write("\n")
