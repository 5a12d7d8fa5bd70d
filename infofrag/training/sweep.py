"""Training sweeps: many models into ROOT/<n>/, several processes at once, resumable.

A sweep is a list of models, each a list of gin config files plus bindings. Model n is
trained into ROOT/<n>/ by `train.train_with_gin` (what `infofrag_train` runs) in one of a
few long-lived worker processes (`infofrag.training.workers`: TensorFlow starts once per
worker, not once per model). Finished models (a complete export) are skipped; a model
whose earlier run was interrupted is resumed from its last checkpoint. The layout is the
one `infofrag_evaluate --zoo=ROOT` reads.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import os
import sys
from collections.abc import Mapping, Sequence

from infofrag.training import workers
from infofrag.utils import checks
from infofrag.utils import gin_text
from infofrag.utils import io


@dataclasses.dataclass
class SweepModel:
  """One model of a sweep: where it goes and how it is configured."""
  model_num: int
  gin_config_files: list
  gin_bindings: list

  def model_dir(self, root: str) -> str:
    return os.path.join(root, str(self.model_num))


def parse_axis(text: str) -> tuple[str, list[str]]:
  """'vae.beta=[1, 4]' -> ('vae.beta', ['1', '4']) (values kept as gin literals)."""
  if "=" not in text:
    raise ValueError(f"--sweep {text!r}: expected BINDING=[v1, v2, ...], e.g. vae.beta=[1, 4].")
  name, values = (part.strip() for part in text.split("=", 1))
  try:
    parsed = ast.literal_eval(values)
  except (ValueError, SyntaxError):
    raise ValueError(f"--sweep {text!r}: the values must be a Python/gin list literal, "
                     "e.g. [1.0, 4.0] or ['i', 'ii'].") from None
  if not isinstance(parsed, (list, tuple)) or not parsed:
    raise ValueError(f"--sweep {text!r}: give a non-empty list of values.")
  return name, [repr(v) for v in parsed]


def _check_no_repeats(axes, seeds):
  """Rejects a grid with a repeated value or seed: it would train bit-identical models that
  an analysis would count as independent evidence."""
  named = [(name, [ast.literal_eval(v) if _is_literal(v) else v for v in values])
           for name, values in axes] + [("model.random_seed", list(seeds))]
  for name, values in named:
    seen = []
    for value in values:
      if value in seen:  # 1 and 1.0 are the same value for gin too
        raise ValueError(f"{name}: the value {value!r} is given more than once; each grid point "
                         "must be trained once (a repeat trains an identical model).")
      seen.append(value)


def _is_literal(text):
  try:
    ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return False
  return True


def expand_grid(gin_config_files: Sequence[str], axes: Sequence[tuple[str, Sequence[str]]],
                seeds: Sequence[int], extra_bindings: Sequence[str] = ()) -> list[SweepModel]:
  """Cartesian product of the axes (outer, in order) and seeds (inner), numbered from 0.

  Parameters
  ----------
  gin_config_files : sequence of str
      Configs shared by every model.
  axes : sequence of (str, list of str)
      (binding name, [gin literal values]) per axis.
  seeds : sequence of int
      Values of ``model.random_seed``.
  extra_bindings : sequence of str
      Bindings shared by every model.
  """
  _check_no_repeats(axes, seeds)
  models = []
  value_lists = [values for _, values in axes]
  for number, (values, seed) in enumerate(itertools.product(itertools.product(*value_lists), seeds)):
    bindings = list(extra_bindings)
    bindings += [f"{name} = {value}" for (name, _), value in zip(axes, values)]
    bindings.append(f"model.random_seed = {seed}")
    models.append(SweepModel(number, list(gin_config_files), bindings))
  return models


def is_finished(model_dir: str) -> bool:
  """True when the model dir holds a complete export (what evaluation needs)."""
  return (os.path.isdir(os.path.join(model_dir, "model", "tfhub")) and
          os.path.exists(os.path.join(model_dir, "model", "results", "json", "train_results.json")))


def _literal(value):
  """A gin value string in a comparable form: Python literal when it is one (16. == 16.0)."""
  parsed = gin_text.parse_value(str(value))
  return parsed.replace('"', "'") if isinstance(parsed, str) else parsed


def requested_bindings(model: SweepModel) -> dict[str, str]:
  """{binding: value string} the model's config files and bindings ask for (later wins)."""
  wanted = {}
  for path in model.gin_config_files:
    with open(path) as f:
      wanted.update(gin_text.gin_dict(f.read()))
  for binding in model.gin_bindings:
    wanted.update(gin_text.gin_dict(binding.replace("=", " = ", 1)))
  return {key.strip(): value.strip() for key, value in wanted.items()}


def recorded_bindings(model_dir: str) -> dict[str, str]:
  """{binding: value string} of a finished model's recorded training config ({} if none)."""
  try:
    return gin_text.read_train_config(model_dir)
  except (OSError, ValueError):
    return {}  # no readable record (e.g. copied without it): nothing to compare


def config_differences(model: SweepModel, root: str) -> list[str]:
  """['binding: trained with X, requested Y', ...] for bindings the finished model recorded
  with another value (bindings its run did not use are not recorded, so not compared)."""
  recorded = recorded_bindings(model.model_dir(root))
  return [f"{name}: trained with {recorded[name]}, requested {value}"
          for name, value in sorted(requested_bindings(model).items())
          if name in recorded and _literal(recorded[name]) != _literal(value)]


def training_command(model: SweepModel, root: str, overwrite: bool = False) -> list[str]:
  """The `python -m infofrag.cli.train` command line that trains (or resumes) one model."""
  command = [sys.executable, "-m", "infofrag.cli.train", f"--model_dir={model.model_dir(root)}"]
  command += [f"--gin_config={path}" for path in model.gin_config_files]
  command += [f"--gin_bindings={binding}" for binding in model.gin_bindings]
  # --resume continues an interrupted earlier run from its checkpoint (or starts fresh);
  # --overwrite retrains a finished model.
  command += ["--overwrite"] if overwrite else ["--resume"]
  command += ["--no_progress"]
  return command


def training_env(trainings_at_once: int) -> dict[str, str]:
  """Environment of one training process: its share of the cores for TensorFlow's threads
  (settings the user exported win), and TensorFlow's C++ log below errors off."""
  env = dict(os.environ)
  share = max(1, (os.cpu_count() or 2) // max(1, trainings_at_once))
  env.setdefault("TF_NUM_INTRAOP_THREADS", str(share))
  env.setdefault("TF_NUM_INTEROP_THREADS", "1")
  env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  return env


def check_finished_models(models: Sequence[SweepModel], root: str) -> dict[int, str]:
  """{model_num: error} for finished models trained with another config than requested."""
  errors = {}
  for model in models:
    if is_finished(model.model_dir(root)):
      differences = config_differences(model, root)
      if differences:
        errors[model.model_num] = ("already trained with a different config ("
                                   + "; ".join(differences) + "); pass --overwrite to retrain it "
                                   "or choose another --zoo")
  return errors


def write_manifest(models: Sequence[SweepModel], root: str, status: Mapping[int, str]) -> None:
  """ROOT/sweep.json: every model's config files (absolute), bindings and status, with the
  values its own recorded training config holds for the sweep's bindings."""
  entries = []
  for model in models:
    entry = {"model_num": model.model_num,
             "gin_config_files": [os.path.abspath(p) for p in model.gin_config_files],
             "gin_bindings": list(model.gin_bindings), "status": status.get(model.model_num)}
    if is_finished(model.model_dir(root)):
      recorded = recorded_bindings(model.model_dir(root))
      names = [gin_text.split_binding(b)[0] for b in model.gin_bindings if "=" in b]
      entry["recorded"] = {name: recorded.get(name) for name in names}
    entries.append(entry)
  io.write_json_atomic(os.path.join(root, "sweep.json"), entries)


def plan_sweep(models: Sequence[SweepModel], root: str, overwrite: bool = False
               ) -> tuple[dict[int, str], list[SweepModel]]:
  """Creates ROOT; returns (status, pending): {model_num: 'skipped' | config-mismatch error}
  for models not to train, and the models to train, in order."""
  os.makedirs(root, exist_ok=True)
  status = {} if overwrite else check_finished_models(models, root)
  pending = []
  for model in models:
    if model.model_num in status:
      continue
    if is_finished(model.model_dir(root)) and not overwrite:
      status[model.model_num] = "skipped"
    else:
      pending.append(model)
  return status, pending


def run_sweep(models: Sequence[SweepModel], root: str, processes: int = 2, progress: bool = True,
              overwrite: bool = False) -> dict[int, str]:
  """Trains every unfinished model; returns {model_num: 'trained'|'skipped'|error text}.

  Up to `processes` long-lived worker processes (`infofrag.training.workers`) each start
  TensorFlow once and train models one after another, with an equal share of the cores;
  each model writes its log to ROOT/<n>.log (kept on failure). A finished model is skipped
  only when its recorded config agrees with the request; otherwise it is an error naming
  the differing bindings (or, with `overwrite`, it is retrained). ROOT/sweep.json is
  written at the end from the models' own records, also after Ctrl-C.
  """
  from tqdm import tqdm
  processes = checks.check_positive_int(processes, name="processes")
  status, pending = plan_sweep(models, root, overwrite=overwrite)
  bar = tqdm(total=len(models), initial=len(models) - len(pending), desc="training sweep",
             unit="model", disable=not progress, file=sys.stderr)
  jobs = [workers.Job(model.model_num, model.model_dir(root), tuple(model.gin_config_files),
                      tuple(model.gin_bindings), os.path.join(root, f"{model.model_num}.log"),
                      overwrite=overwrite)
          for model in pending]
  at_once = max(1, min(processes, len(jobs)))

  def done(number, text):
    status[number] = text
    bar.update(1)

  try:
    workers.run_jobs(jobs, processes=at_once, environment=training_env(at_once), on_done=done)
  finally:
    bar.close()
    write_manifest(models, root, status)
  return status


def write_status(root: str, status: Mapping[int, str]) -> str:
  """Prints one line per model that did not simply finish."""
  for number in sorted(status):
    if status[number] not in ("trained", "skipped"):
      print(f"model {number}: {status[number]}", file=sys.stderr)
  return json.dumps({str(k): v for k, v in sorted(status.items())})
