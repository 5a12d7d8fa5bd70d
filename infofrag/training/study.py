"""disentanglement_lib's `unsupervised_study_v1` sweep as data, expanded to per-model bindings.

The study (gin_configs/studies/unsupervised_study_v1.json) crosses 7 datasets, 6 methods
with 6 values of their swept hyperparameter, and 50 seeds, numbered as dlib numbers the
published zoo:

  model_num = dataset_index * 1800 + method_index * 300 + value_index * 50 + seed

(methods in dlib's order beta_vae, factor_vae, dip_vae_i, dip_vae_ii, beta_tc_vae,
annealed_vae; model 250 is beta_vae, beta = 16, seed 0 on dsprites_full). Every model
uses gin_configs/models/shared.gin plus its bindings.

  infofrag_study --list [--dataset dsprites_full] [--seeds 0-2]
  infofrag_study --model_num 250     # bindings, one per line

Pure Python: no TensorFlow import.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence

from infofrag.utils import paths

STUDY_NAME = "unsupervised_study_v1"


@dataclasses.dataclass
class StudyModel:
  """One model of the study.

  Attributes
  ----------
  model_num : int
      dlib's model number.
  dataset : str
      ``dataset.name``.
  method : str
      dlib's ``model.name`` (beta_vae, factor_vae, dip_vae_i, ...).
  hyperparameter : str
      The swept binding, e.g. "vae.beta".
  value : float
      Its value.
  seed : int
      ``model.random_seed``.
  bindings : list of str
      Gin binding strings to add to `config_file`.
  config_file : str
      Path of the shared gin config.
  """
  model_num: int
  dataset: str
  method: str
  hyperparameter: str
  value: float
  seed: int
  bindings: list
  config_file: str


def load_study(name: str = STUDY_NAME) -> dict:
  """The study description (dict) from gin_configs/studies/<name>.json."""
  with open(paths.gin_config_path("studies", f"{name}.json")) as f:
    return json.load(f)


def _gin_literal(value):
  """dlib's escaping: strings quoted unless they are references (@...)."""
  if isinstance(value, str) and not value.startswith("@"):
    return f"'{value}'"
  return str(value)


def num_models(study: dict | None = None) -> int:
  """Total number of models of the study (12600 for unsupervised_study_v1)."""
  study = study or load_study()
  per_method = len(study["methods"][0]["values"]) * study["num_seeds"]
  return len(study["datasets"]) * len(study["methods"]) * per_method


def get_model(model_num: int, study: dict | None = None) -> StudyModel:
  """StudyModel for one model number.

  Raises
  ------
  ValueError
      If `model_num` is outside [0, num_models).
  """
  study = study or load_study()
  total = num_models(study)
  if isinstance(model_num, bool) or not 0 <= int(model_num) < total:
    raise ValueError(f"model_num must be in [0, {total}) for {study['name']}, got {model_num!r}.")
  model_num = int(model_num)
  num_seeds = study["num_seeds"]
  num_values = len(study["methods"][0]["values"])
  per_dataset = len(study["methods"]) * num_values * num_seeds
  dataset_index, rest = divmod(model_num, per_dataset)
  method_index, rest = divmod(rest, num_values * num_seeds)
  value_index, seed = divmod(rest, num_seeds)
  method = study["methods"][method_index]
  value = method["values"][value_index]
  pairs = [("dataset.name", study["datasets"][dataset_index])]
  pairs += [tuple(p) for p in study["architecture"]]
  pairs += [("model.name", method["name"]), (method["swept"], value)]
  pairs += [tuple(p) for p in method["fixed"]]
  pairs += [("model.random_seed", seed), ("model.model_num", model_num)]
  return StudyModel(
      model_num=model_num, dataset=study["datasets"][dataset_index], method=method["name"],
      hyperparameter=method["swept"], value=value, seed=seed,
      bindings=[f"{key} = {_gin_literal(val)}" for key, val in pairs],
      config_file=paths.gin_config_path(study["config_file"]))


def _step_configs(study, key):
  """[(name, path or None)] of the study's configs under `key`, sorted by name (dlib's
  order); the path is None when infofrag does not ship that config."""
  configs = []
  for relative in study.get(key, []):
    name = os.path.basename(relative)[:-len(".gin")]
    try:
      path = paths.gin_config_path(*relative.split("/"))
    except FileNotFoundError:
      path = None
    configs.append((name, path))
  return sorted(configs)


def get_postprocess_configs(study: dict | None = None) -> list[str]:
  """[(name, gin file)] of the study's postprocess configs, sorted (e.g. mean, sampled)."""
  return _step_configs(study or load_study(), "postprocess_configs")


def get_metric_configs(study: dict | None = None) -> list[str]:
  """[(metric name, gin file or None)] of the study's metric configs, sorted by name as
  dlib_reproduce runs them; None marks a metric of dlib's study that infofrag lacks."""
  return _step_configs(study or load_study(), "metric_configs")


def get_model_bindings(model_num: int, study: dict | None = None) -> list[str]:
  """The gin bindings (list of str) of one model, to use with models/shared.gin."""
  return get_model(model_num, study).bindings


def list_models(dataset: str | None = None, seeds: Sequence[int] | None = None,
                methods: Sequence[str] | None = None, study: dict | None = None) -> list[int]:
  """StudyModels filtered by dataset name, seeds (iterable) and method names, in order."""
  study = study or load_study()
  if dataset is not None and dataset not in study["datasets"]:
    raise ValueError(f"Unknown study dataset {dataset!r}; valid: {', '.join(study['datasets'])}.")
  names = [m["name"] for m in study["methods"]]
  for method in methods or []:
    if method not in names:
      raise ValueError(f"Unknown study method {method!r}; valid: {', '.join(names)}.")
  seeds = None if seeds is None else set(seeds)
  selected = []
  for model_num in range(num_models(study)):
    model = get_model(model_num, study)
    if (dataset is None or model.dataset == dataset) and (
        seeds is None or model.seed in seeds) and (not methods or model.method in methods):
      selected.append(model)
  return selected
