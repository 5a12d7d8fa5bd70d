"""dlib's evaluation step: a metric of a postprocessed representation (``dlib_evaluate``).

  evaluate_with_gin(INPUT, OUTPUT, gin_config_files=["gin_configs/evaluate/mig.gin"])

reads INPUT (a postprocess output: ``INPUT/tfhub`` with the ``representation``
signature, ``INPUT/results``), computes the metric bound to ``evaluation.evaluation_fn``
with ``np.random.RandomState(evaluation.random_seed)`` on the dataset ``dataset.name``
("auto": the one INPUT/results/gin/postprocess.gin records), and writes, as dlib does,
INPUT/results copied plus ``OUTPUT/results/{gin/evaluation.gin,
json/evaluation_{config,results}.json, aggregate/evaluation.json}``. OUTPUT appears only
when complete and must not exist unless ``overwrite``. This is dlib's protocol: no result
is reused (infofrag_evaluate --model_dir reuses results; see infofrag.evaluation.evaluate).
"""

from __future__ import annotations

import glob
import os
import time
from typing import Sequence

import gin

from infofrag.data import named_data  # registers `dataset`
from infofrag.evaluation import evaluate as evaluate_lib
from infofrag.metrics import registry  # registers the metrics
from infofrag.utils import results as results_lib
from infofrag.utils import step_folders as folders
from infofrag.zoo import representation as representation_lib

STEP = "evaluation"


class RepresentationEvaluationError(folders.WorkflowError):
  """An evaluation request that cannot run (one line naming the flag or file)."""


def _query(binding: str):
  try:
    return gin.query_parameter(binding)
  except ValueError:
    return None


def evaluate_with_gin(input_dir: str, output_dir: str, *, overwrite: bool = False,
                      gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = (),
                      batch_size: int = 64) -> dict:
  """Parses gin, evaluates the representation in `input_dir`, clears gin (dlib's function).

  Parameters
  ----------
  input_dir : str
      A postprocessed representation folder (``tfhub/``, ``results/``).
  output_dir : str
      The metric's folder (``OUTPUT/results`` is written).
  overwrite : bool
      Replace an existing `output_dir` (once the new one is complete).
  gin_config_files, gin_bindings : sequence of str
      The metric's config, e.g. ``["gin_configs/evaluate/mig.gin"]``, and bindings
      such as ``["mig.num_train = 1000"]``.
  batch_size : int
      Images per call of the representation.

  Returns
  -------
  dict, the evaluation results as written (the metric's scores, elapsed_time, uuid).

  Raises
  ------
  RepresentationEvaluationError
      Bad flags, files or gin; a metric that fails on these codes.
  infofrag.zoo.errors.ModelLoadError
      An unreadable representation.
  """
  folders.check_output_dir(output_dir, overwrite=overwrite)
  if not os.path.isdir(os.path.join(input_dir, "tfhub")):
    raise RepresentationEvaluationError(
        f"--input_dir={input_dir}: no representation there (looked for {input_dir}/tfhub); give "
        "the --output_dir of dlib_postprocess or infofrag_postprocess.")
  results_gin = os.path.join(input_dir, "results", "gin")
  if (not os.path.exists(os.path.join(results_gin, "postprocess.gin"))
      and os.path.exists(os.path.join(results_gin, "train.gin"))):
    raise RepresentationEvaluationError(
        f"--input_dir={input_dir} is a trained model, not a representation; postprocess it "
        f"first (infofrag_postprocess --model_dir={input_dir} --output_dir=... "
        "--representation=mean).")
  for path in gin_config_files:
    if not os.path.isfile(path):
      raise RepresentationEvaluationError(f"--gin_config={path}: file not found.")
  gin.clear_config()
  try:
    try:
      gin.parse_config_files_and_bindings(list(gin_config_files), list(gin_bindings))
    except (ValueError, KeyError, SyntaxError, TypeError) as error:
      raise RepresentationEvaluationError(
          f"bad gin configuration: {' '.join(str(error).split())}") from None
    if _query("evaluation.evaluation_fn") is None:
      raise RepresentationEvaluationError(
          "no metric: bind evaluation.evaluation_fn, e.g. --gin_config=gin_configs/evaluate/"
          "mig.gin (infofrag_evaluate --input_dir also takes --metrics=mig).")
    if _query("dataset.name") in (None, "auto"):
      name = folders.recorded_dataset(os.path.join(input_dir, "results"), "postprocess",
                                      flag="--input_dir")
      with gin.unlock_config():
        gin.bind_parameter("dataset.name", name)
    started = time.time()
    dataset = named_data.get_named_ground_truth_data()
    representation = representation_lib.LoadedRepresentation(input_dir)
    representation.check_observation_shape(dataset.observation_shape)
    try:
      scores = evaluate_lib.run_evaluation_fn(
          dataset, lambda observations: representation(observations, batch_size))
    except ValueError as error:
      raise RepresentationEvaluationError(
          f"--input_dir={input_dir}: the metric failed: {str(error).splitlines()[0]}") from None
    scores = dict(scores)
    scores["elapsed_time"] = time.time() - started
    with folders.staged_output(output_dir, overwrite=overwrite) as staging:
      written = results_lib.update_result_directory(
          os.path.join(staging, "results"), STEP, scores,
          old_result_directory=os.path.join(input_dir, "results"))
  finally:
    gin.clear_config()
  return written


def evaluate_configs(input_dir: str, output_dir: str, configs: Sequence[str], *,
                     overwrite: bool = False, extra_config_files: Sequence[str] = (),
                     gin_bindings: Sequence[str] = (), batch_size: int = 64
                     ) -> dict[str, dict]:
  """One metric per gin config, each into ``output_dir/<config name>`` with
  ``evaluation.name = '<config name>'`` (dlib_evaluate's glob mode).

  Parameters
  ----------
  input_dir, overwrite, batch_size : see `evaluate_with_gin`.
  output_dir : str
      Parent of the metric folders.
  configs : sequence of str
      Metric configs, e.g. ``gin_configs/evaluate/mig.gin``; the folder is the file's name
      without ``.gin``.
  extra_config_files, gin_bindings : sequence of str
      Parsed after each config (and after the ``evaluation.name`` binding).

  Returns
  -------
  dict, {metric folder name: its results}.
  """
  names = [os.path.basename(c)[:-len(".gin")] if c.endswith(".gin") else os.path.basename(c)
           for c in configs]
  for name in names:  # Every refusal before the first metric runs.
    folders.check_output_dir(os.path.join(output_dir, name), overwrite=overwrite)
  done = {}
  for config, name in zip(configs, names):
    done[name] = evaluate_with_gin(
        input_dir, os.path.join(output_dir, name), overwrite=overwrite,
        gin_config_files=[config] + list(extra_config_files),
        gin_bindings=[f"evaluation.name = '{name}'"] + list(gin_bindings),
        batch_size=batch_size)
  return done


def evaluate_config_glob(input_dir: str, output_dir: str, pattern: str, *,
                         overwrite: bool = False, gin_bindings: Sequence[str] = (),
                         batch_size: int = 64) -> dict[str, dict]:
  """dlib_evaluate's ``--gin_evaluation_config_glob``: `evaluate_configs` over the
  matching configs, sorted (infofrag also applies `gin_bindings`; dlib ignores them).

  Raises
  ------
  RepresentationEvaluationError
      When nothing matches (and whatever `evaluate_with_gin` raises).
  """
  configs = sorted(glob.glob(pattern))
  if not configs:
    raise RepresentationEvaluationError(
        f"--gin_evaluation_config_glob={pattern}: no gin file matches.")
  return evaluate_configs(input_dir, output_dir, configs, overwrite=overwrite,
                          gin_bindings=gin_bindings, batch_size=batch_size)
