"""disentanglement_lib's result-directory format (`utils/results.py` there).

A result directory holds, per pipeline step (e.g. "train", "evaluation"):
  gin/{step}.gin               the operative gin config of the step
  json/{step}_config.json      that config as {binding: value string}
  json/{step}_results.json     the step's results plus a fresh "uuid"
  aggregate/{step}.json        every json/*.json merged, keys prefixed "<file stem>."
A later step may start from a copy of an earlier step's directory (evaluation copies
the training results), so its aggregate holds both. Every file is written atomically.
Pure Python (gin, numpy): no TensorFlow import.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid

import gin

from infofrag.utils import io
from infofrag.utils.gin_text import gin_dict


def update_result_directory(result_directory: str, step_name: str, results_dict: dict,
                            old_result_directory: str | None = None,
                            operative_config: str | None = None) -> dict:
  """Writes one step's gin config, config JSON, results JSON and aggregate.

  Parameters
  ----------
  result_directory : str
      Folder to update (created if needed).
  step_name : str
      Name space of the step, e.g. "train" or "evaluation".
  results_dict : dict
      {name: number or string}; a copy gets a new "uuid".
  old_result_directory : str or None
      If given, its contents are copied in first (dlib).
  operative_config : str or None
      Gin config text to save; default ``gin.operative_config_str()``.

  Returns
  -------
  dict
      The results as written (with "uuid").
  """
  if old_result_directory is not None:
    shutil.copytree(old_result_directory, result_directory, dirs_exist_ok=True)
  os.makedirs(result_directory, exist_ok=True)
  results = dict(results_dict)
  results["uuid"] = str(uuid.uuid4())
  if operative_config is None:
    operative_config = gin.operative_config_str()
  json_dir = os.path.join(result_directory, "json")
  io.write_text_atomic(os.path.join(result_directory, "gin", f"{step_name}.gin"),
                       operative_config)
  save_dict(os.path.join(json_dir, f"{step_name}_config.json"), gin_dict(operative_config))
  save_dict(os.path.join(json_dir, f"{step_name}_results.json"), results)
  save_dict(os.path.join(result_directory, "aggregate", f"{step_name}.json"),
            aggregate_json_results(json_dir))
  return results


def save_dict(path: str, dictionary: dict) -> None:
  """Writes a dict as indented JSON (numpy values converted), atomically."""
  io.write_text_atomic(path, json.dumps(io.to_json_compatible(dictionary, nan_as_none=False), indent=2))


def namespaced_dict(base_dict: dict | None = None, **named_dicts: dict) -> dict:
  """Merges dicts into one, prefixing keys "<name>." (e.g. "train_results.loss")."""
  result = {} if base_dict is None else dict(base_dict)
  for outer_key, inner in named_dicts.items():
    for inner_key, value in inner.items():
      result[f"{outer_key}.{inner_key}"] = value
  return result


def aggregate_json_results(json_directory: str) -> dict:
  """Namespaced merge of every `*.json` dict in a folder (files in sorted order)."""
  named = {}
  for filename in sorted(os.listdir(json_directory)):
    if filename.endswith(".json") and not filename.startswith("."):
      with open(os.path.join(json_directory, filename)) as f:
        named[filename[:-len(".json")]] = json.load(f)
  return namespaced_dict(**named)
