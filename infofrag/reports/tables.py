"""Plain tables: Markdown for the terminal and papers, CSV for analysis."""

from __future__ import annotations

import csv
import io as _io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from infofrag.utils import io


def _format(value, digits):
  if value is None:
    return ""
  if isinstance(value, float):
    if math.isnan(value):
      return "nan"
    return f"{value:.{digits}f}"
  if isinstance(value, (list, tuple)):
    return " ".join(_format(v, digits) for v in value)
  return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Any],
                   digits: int = 3) -> str:
  """Markdown table of dict rows; `columns` is a list of keys (or (key, title) pairs)."""
  columns = [c if isinstance(c, tuple) else (c, c) for c in columns]
  header = "| " + " | ".join(title for _, title in columns) + " |"
  rule = "|" + "|".join("---" for _ in columns) + "|"
  body = ["| " + " | ".join(_format(row.get(key), digits).replace("|", "/") for key, _ in columns)
          + " |" for row in rows]
  return "\n".join([header, rule] + body)


def write_csv(path: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
  """Writes dict rows as CSV (atomic); lists are joined with spaces."""
  buffer = _io.StringIO()
  writer = csv.writer(buffer)
  writer.writerow(columns)
  for row in rows:
    writer.writerow([_format(row.get(c), 6) if isinstance(row.get(c), (list, tuple))
                     else ("" if row.get(c) is None else row.get(c)) for c in columns])
  io.write_text_atomic(path, buffer.getvalue())
  return path


def write_markdown(path: str, text: str) -> None:
  io.write_text_atomic(path, text.rstrip() + "\n")
  return path
