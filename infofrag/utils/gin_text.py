"""Reading gin config text without gin: bindings as {name: value string}.

Models trained by disentanglement_lib (TF1) record configurables this package never
registers (e.g. ``model.model = @vae()``), so their configs are read as text:

- `gin_dict`: disentanglement_lib's own rule (`utils/results.py` there), used to write and
  compare ``json/<step>_config.json``: every line not starting with '#' that contains ' = '.
- `parse_gin_text`: a fuller reader of operative configs (values continued over several
  lines inside brackets, scoped names kept).
- `parse_value`: one value string as a Python value.
- `split_binding`: one ``name = value`` binding as given on a command line.
- `read_train_config`: a model directory's recorded training config.

Pure Python: no gin or TensorFlow import.
"""

from __future__ import annotations

import ast
import json
import os
import re
from typing import Any


def gin_dict(config_text: str) -> dict[str, str]:
  """Bindings of gin config text by disentanglement_lib's rule.

  Parameters
  ----------
  config_text : str
    Gin config text, e.g. an operative config.

  Returns
  -------
  dict of str to str
    {binding: value string} of the lines that do not start with '#' and contain ' = '
    (text split at the first ' = ', nothing stripped).
  """
  result = {}
  for line in config_text.split("\n"):
    if not line.startswith("#") and " = " in line:
      key, value = line.split(" = ", 1)
      result[key] = value
  return result


def _bracket_depth(text: str) -> int:
  return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def parse_gin_text(text: str) -> dict[str, str]:
  """Parses operative gin config text into {binding: value string}.

  Handles comments, blank lines, ``import`` / ``include`` lines and values continued over
  several lines (open brackets). Keeps scopes (``"vae/AdamOptimizer.beta1"``).

  Parameters
  ----------
  text : str
    Gin config text.

  Returns
  -------
  dict of str to str
    {binding: value string}, continued lines joined by single spaces.
  """
  bindings = {}
  key, pieces, depth = None, [], 0
  for raw_line in text.splitlines():
    line = raw_line.rstrip()  # operative configs only have whole-line comments
    if key is None:
      stripped = line.strip()
      if not stripped or stripped.startswith("#") or stripped.startswith("import ") \
          or stripped.startswith("include "):
        continue
      match = re.match(r"^([\w./]+)\s*=\s*(.*)$", stripped)
      if not match:
        continue
      key, value = match.group(1), match.group(2)
      pieces, depth = [value], _bracket_depth(value)
    else:
      pieces.append(line.strip())
      depth += _bracket_depth(line)
    if depth <= 0:
      bindings[key] = " ".join(pieces).strip()
      key = None
  return bindings


def parse_value(value: str) -> Any:
  """Gin value string -> Python value; references (``@name()``, ``%macro``) stay strings.

  Parameters
  ----------
  value : str
    A value as written in gin, e.g. ``"4."``, ``"'dsprites_full'"``, ``"(256, 256)"``.

  Returns
  -------
  object
    The Python literal it denotes, or the stripped text when it is not a literal.
  """
  value = value.strip()
  if value.startswith("@") or value.startswith("%"):
    return value
  try:
    return ast.literal_eval(value)
  except (ValueError, SyntaxError):
    return value


def split_binding(binding: str) -> tuple[str, str]:
  """Splits one binding ``"name = value"`` (spaces optional) at its first '='.

  Parameters
  ----------
  binding : str
    A binding as passed to ``--gin_bindings``, e.g. ``"vae.beta=4."``.

  Returns
  -------
  name : str
    The binding's name, stripped.
  value : str
    Its value string, stripped.
  """
  if "=" not in binding:
    raise ValueError(f"gin binding {binding!r}: expected NAME = VALUE, e.g. vae.beta = 4.")
  name, value = binding.split("=", 1)
  return name.strip(), value.strip()


def read_train_config(model_dir: str | os.PathLike) -> dict[str, str]:
  """A model directory's recorded training config as {binding: value string}.

  Reads ``DIR/model/results/json/train_config.json`` (a flat dict written by
  disentanglement_lib and infofrag alike) or, failing that, the operative config
  ``DIR/model/results/gin/train.gin``.

  Parameters
  ----------
  model_dir : str or path-like
    The directory holding ``model/``.

  Returns
  -------
  dict of str to str
    {binding: value string}, names and values stripped.

  Raises
  ------
  FileNotFoundError
    Neither file exists.
  ValueError
    The file exists but cannot be read as a config.
  """
  results = os.path.join(model_dir, "model", "results")
  json_path = os.path.join(results, "json", "train_config.json")
  gin_path = os.path.join(results, "gin", "train.gin")
  if os.path.exists(json_path):
    try:
      with open(json_path) as f:
        raw = json.load(f)
      items = raw.items()
    except (OSError, ValueError, AttributeError) as error:
      raise ValueError(f"cannot read {json_path}: {error}") from error
  elif os.path.exists(gin_path):
    with open(gin_path) as f:
      items = parse_gin_text(f.read()).items()
  else:
    raise FileNotFoundError(f"no training config found (looked for {json_path} and {gin_path})")
  return {str(key).strip(): str(value).strip() for key, value in items}
