"""dlib's aggregate of a result tree: one pandas DataFrame of every matching result JSON.

dlib writes, per step, ``results/aggregate/<step>.json``: the step's config and results
with namespaced keys (``train_config.vae.beta``, ``evaluation_results.discrete_mig``, ...).
`aggregate_results` reads every file a glob pattern matches, adds its ``path``, and makes
one row per file; written with `DataFrame.to_json` (orient "columns"), the file reads
back with ``pandas.read_json(path, orient="columns")`` exactly as dlib's does.
"""

from __future__ import annotations

import glob
import json

import pandas as pd
from infofrag.utils import io


class AggregateError(ValueError):
  """No result file matched, or one cannot be read (the message names it)."""


def result_files(pattern: str) -> list[str]:
  """Files matching a glob pattern (``**`` spans folders), sorted."""
  return sorted(glob.glob(pattern, recursive=True))


def aggregate_results(pattern: str) -> pd.DataFrame:
  """One row per result JSON matching `pattern`, its keys as columns plus ``path``.

  Raises
  ------
  AggregateError
      When nothing matches, or a file is not a JSON object.
  """
  files = result_files(pattern)
  if not files:
    raise AggregateError(f"--result_file_pattern={pattern}: no file matches; e.g. "
                         "'ZOO/*/metrics/*/*/results/aggregate/evaluation.json'.")
  rows = []
  for path in files:
    try:
      with open(path) as f:
        row = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
      raise AggregateError(f"{path}: cannot be read as JSON ({error}).") from None
    if not isinstance(row, dict):
      raise AggregateError(f"{path}: not a JSON object of results.")
    row["path"] = path
    rows.append(row)
  return pd.DataFrame(rows)


def write_aggregate(pattern: str, output_path: str) -> int:
  """Writes the aggregate of `pattern` to `output_path` (atomically); returns the rows."""
  frame = aggregate_results(pattern)
  io.write_text_atomic(output_path, frame.to_json())
  return len(frame)
