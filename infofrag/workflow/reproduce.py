"""dlib_reproduce: one model of a study trained, visualized, postprocessed and evaluated.

For model N of a study (unsupervised_study_v1: infofrag.training.study) into OUT:

  OUT/model/                          trained with the study's config and N's bindings
                                      (skipped when an existing model folder is given)
  OUT/visualizations/                 dlib's visualize_model pictures
  OUT/postprocessed/<p>/              each of the study's postprocess configs (mean, sampled)
  OUT/metrics/<p>/<metric>/results/   each of the study's metric configs on each <p>

As in dlib's ``dlib_reproduce``: training gets ``model.name = '<config name>'`` and
``model.model_num = N`` before the study's bindings; the postprocess and evaluation seeds
are drawn from ``np.random.RandomState(0)``, one ``randint(2**32)`` per postprocess config
and then per (representation, metric) pair, in sorted order, with ``postprocess.name`` /
``evaluation.name`` bound to the config's name. The seeds are drawn over the study's full
lists, so a subset of metrics (``metrics=``) or a metric infofrag lacks (listed, not
run) leaves every other seed as dlib's. Every step's output must be new unless
``overwrite``; all of them are checked before the first step runs.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Sequence

import numpy as np

from infofrag.evaluation import evaluate_representation
from infofrag.training import study as study_lib
from infofrag.utils import step_folders as folders
from infofrag.visualize import visualize_model


@dataclasses.dataclass
class Step:
  """One postprocess or evaluation run of the plan.

  Attributes
  ----------
  representation : str
      The postprocess config's name (mean, sampled).
  metric : str or None
      The metric config's name; None for a postprocess step.
  config : str or None
      Its gin file; None when infofrag does not ship it (the step is skipped).
  seed : int
      postprocess.random_seed or evaluation.random_seed.
  output_dir : str
  """
  representation: str
  metric: str | None
  config: str | None
  seed: int
  output_dir: str

  @property
  def bindings(self) -> list[str]:
    """The step's seed and name bindings (dlib's)."""
    kind = "postprocess" if self.metric is None else "evaluation"
    return [f"{kind}.random_seed = {self.seed}",
            f"{kind}.name = '{self.metric or self.representation}'"]


@dataclasses.dataclass
class Plan:
  """What `run` does for one model (see `make_plan`)."""
  study: str
  model_num: int
  output_directory: str
  model_dir: str
  train: bool
  train_config: str | None
  train_bindings: list
  visualizations_dir: str
  postprocess: list
  evaluations: list


def output_directory_for(template: str | None, *, study: str, model_num: int,
                         model_dir: str | None) -> str:
  """dlib's --output_directory: ``{model_num}`` and ``{study}`` filled in; by default
  ``output/{study}/{model_num}`` (or ``output`` with an existing model)."""
  if template is None:
    template = "output" if model_dir else os.path.join("output", "{study}", "{model_num}")
  try:
    return template.format(model_num=str(model_num), study=str(study))
  except (KeyError, IndexError, ValueError) as error:
    raise folders.WorkflowError(f"--output_directory={template}: only {{model_num}} and "
                                f"{{study}} may be filled in ({error}).") from None


def make_plan(*, study_name: str, model_num: int, output_directory: str | None = None,
              model_dir: str | None = None, extra_train_bindings: Sequence[str] = (),
              metrics: Sequence[str] | None = None) -> Plan:
  """The steps of dlib_reproduce for one model.

  Parameters
  ----------
  study_name : str
      A study in gin_configs/studies/ (unsupervised_study_v1).
  model_num : int
      The study's model number (ignored for training when `model_dir` is given).
  output_directory : str or None
      dlib's --output_directory template (see `output_directory_for`).
  model_dir : str or None
      An already trained model folder: training is skipped.
  extra_train_bindings : sequence of str
      Appended to the study's training bindings (e.g. fewer steps).
  metrics : sequence of str or None
      Only these metric configs of the study (None: all of them).

  Returns
  -------
  Plan

  Raises
  ------
  WorkflowError
      Unknown study, model number or metric (one line naming the flag).
  """
  try:
    description = study_lib.load_study(study_name)
  except FileNotFoundError:
    raise folders.WorkflowError(f"--study={study_name}: no such study in infofrag's "
                                "gin_configs/studies/ (e.g. unsupervised_study_v1).") from None
  out = output_directory_for(output_directory, study=study_name, model_num=model_num,
                             model_dir=model_dir)
  train_config, train_bindings = None, []
  if model_dir is None:
    try:
      entry = study_lib.get_model(model_num, description)
    except ValueError as error:
      raise folders.WorkflowError(f"--model_num: {error}") from None
    train_config = entry.config_file
    config_name = os.path.basename(train_config)[:-len(".gin")]
    train_bindings = [f"model.name = '{config_name}'", f"model.model_num = {model_num}"]
    train_bindings += list(entry.bindings) + list(extra_train_bindings)
    trained = os.path.join(out, "model")
  else:
    trained = folders.model_folder(model_dir)
  metric_configs = study_lib.get_metric_configs(description)
  known = [name for name, _ in metric_configs]
  for name in metrics or []:
    if name not in known:
      raise folders.WorkflowError(f"--metrics: {name!r} is not a metric of {study_name} "
                                  f"(its metrics: {', '.join(known)}).")
  random_state = np.random.RandomState(0)
  postprocess = [Step(name, None, path, int(random_state.randint(2**32)),
                      os.path.join(out, "postprocessed", name))
                 for name, path in study_lib.get_postprocess_configs(description)]
  evaluations = []
  for post in postprocess:
    for name, path in metric_configs:
      seed = int(random_state.randint(2**32))  # drawn for every metric, run or not
      if metrics is None or name in metrics:
        evaluations.append(Step(post.representation, name, path, seed,
                                os.path.join(out, "metrics", post.representation, name)))
  return Plan(study=study_name, model_num=model_num, output_directory=out, model_dir=trained,
              train=model_dir is None, train_config=train_config,
              train_bindings=train_bindings,
              visualizations_dir=os.path.join(out, "visualizations"),
              postprocess=postprocess, evaluations=evaluations)


def describe(plan: Plan) -> str:
  """The plan as dlib_reproduce prints it: the model's config, then each step's bindings."""
  lines = []
  if plan.train:
    lines += ["Model configuration:", "--", f"# gin config: {plan.train_config}"]
    lines += plan.train_bindings
  else:
    lines += ["Model directory (skipped training):", "--", plan.model_dir]
  lines += ["", "Postprocessing configurations:", "--"]
  lines += [f"{step.representation}: {step.config} {' '.join(step.bindings)}"
            for step in plan.postprocess]
  lines += ["", "Evaluation configurations:", "--"]
  lines += [f"{step.representation}/{step.metric}: "
            f"{step.config or 'not available in infofrag (skipped)'} {' '.join(step.bindings)}"
            for step in plan.evaluations]
  return "\n".join(lines)


def check_outputs(plan: Plan, *, overwrite: bool, visualize: bool = True) -> None:
  """Refuses (before any work) when a step's output exists and `overwrite` is off."""
  if overwrite:
    return
  outputs = [(plan.model_dir, "--output_directory")] if plan.train else []
  if visualize:
    outputs.append((plan.visualizations_dir, "--output_directory"))
  outputs += [(step.output_dir, "--output_directory") for step in plan.postprocess]
  outputs += [(step.output_dir, "--output_directory") for step in plan.evaluations
              if step.config]
  for path, flag in outputs:
    if os.path.exists(path):
      hint = (f" (to reuse the trained model: --model_dir={plan.model_dir})"
              if plan.train and path == plan.model_dir else "")
      raise folders.WorkflowError(f"{flag}: {path} already exists; pass --overwrite to replace "
                                  f"it or choose another output directory{hint}.")


def run(plan: Plan, *, overwrite: bool = False, visualize: bool = True,
        evaluation_bindings: Sequence[str] = (), progress: bool = True,
        log: Callable[[str], None] = print) -> dict:
  """Runs the plan's steps in dlib's order (train, visualize, postprocess, evaluate).

  Parameters
  ----------
  plan : Plan
  overwrite : bool
      Replace existing step outputs.
  visualize : bool
      Draw OUT/visualizations (dlib always does).
  evaluation_bindings : sequence of str
      Appended to every metric's bindings (e.g. smaller sizes).
  progress : bool
      Training progress bar.
  log : callable
      Receives one line per step.

  Returns
  -------
  dict, {"<representation>/<metric>": evaluation results} of the metrics run, plus
  "skipped": the metrics infofrag lacks.
  """
  from infofrag.postprocessing import postprocess
  from infofrag.training import dlib_layout
  from infofrag.training import train
  check_outputs(plan, overwrite=overwrite, visualize=visualize)
  if plan.train:
    log(f"training model {plan.model_num} of {plan.study} into {plan.model_dir}")
    dlib_layout.train_model_folder(plan.model_dir, overwrite=overwrite,
                                   gin_config_files=[plan.train_config],
                                   gin_bindings=plan.train_bindings,
                                   options=train.LoopOptions(progress=progress))
  if visualize:
    log(f"visualizing into {plan.visualizations_dir}")
    visualize_model.visualize(plan.model_dir, plan.visualizations_dir, overwrite=overwrite)
  for step in plan.postprocess:
    log(f"extracting representation {step.representation} into {step.output_dir}")
    postprocess.postprocess_with_gin(plan.model_dir, step.output_dir, overwrite=overwrite,
                                     gin_config_files=[step.config], gin_bindings=step.bindings)
  done, skipped = {}, []
  inputs = {step.representation: step.output_dir for step in plan.postprocess}
  for step in plan.evaluations:
    key = f"{step.representation}/{step.metric}"
    if step.config is None:
      skipped.append(key)
      log(f"skipping metric {key}: infofrag ships no config {step.metric}.gin")
      continue
    log(f"computing metric {key} into {step.output_dir}")
    done[key] = evaluate_representation.evaluate_with_gin(
        inputs[step.representation], step.output_dir, overwrite=overwrite,
        gin_config_files=[step.config],
        gin_bindings=step.bindings + list(evaluation_bindings))
  done["skipped"] = skipped
  return done
