"""dlib's postprocess step: extract a representation function from a trained model.

  postprocess_with_gin(MODEL, OUTPUT, gin_config_files=["gin_configs/postprocess/mean.gin"])

reads the model folder MODEL (dlib's: ``MODEL/tfhub`` and ``MODEL/results``; infofrag's
model directory D is accepted for its ``D/model``) and writes, as dlib does:

  OUTPUT/tfhub/       SavedModel with the signature ``representation`` (images ->
                      {"default": codes}; see infofrag.export.representation)
  OUTPUT/results/     MODEL/results copied, plus gin/postprocess.gin,
                      json/postprocess_{config,results}.json, aggregate/postprocess.json

Gin, with dlib's names: ``postprocess.postprocess_fn = @mean_representation`` (or
``@sampled_representation``), ``postprocess.random_seed``, ``postprocess.name`` (only
recorded) and ``dataset.name = "auto"`` (the dataset of MODEL/results/gin/train.gin).
OUTPUT appears only when complete; it must not exist unless ``overwrite``.
"""

from __future__ import annotations

import os
import time
from typing import Sequence

import gin
import numpy as np

from infofrag.data import named_data  # registers gin's `dataset`
from infofrag.export import representation as export_lib
from infofrag.postprocessing import methods  # registers gin names
from infofrag.utils import results as results_lib
from infofrag.utils import step_folders as folders
from infofrag.zoo import saved_model

STEP = "postprocess"


class PostprocessError(folders.WorkflowError):
  """A postprocess request that cannot run (one line naming the flag or file)."""


def postprocess_with_gin(model_dir: str, output_dir: str, *, overwrite: bool = False,
                         gin_config_files: Sequence[str] = (),
                         gin_bindings: Sequence[str] = ()) -> dict:
  """Parses the gin files and bindings, runs `postprocess`, clears gin (dlib's function).

  Parameters
  ----------
  model_dir : str
      The trained model's folder (``tfhub/`` and ``results/``), or infofrag's D.
  output_dir : str
      Where the representation goes.
  overwrite : bool
      Replace an existing `output_dir` (once the new one is complete).
  gin_config_files, gin_bindings : sequence of str
      e.g. ``["gin_configs/postprocess/sampled.gin"]``, ``["postprocess.random_seed = 3"]``.

  Returns
  -------
  dict, the postprocess results as written (elapsed_time, uuid).

  Raises
  ------
  PostprocessError
      Bad flags, files or gin (one line).
  """
  folders.check_output_dir(output_dir, overwrite=overwrite)
  for path in gin_config_files:
    if not os.path.isfile(path):
      raise PostprocessError(f"--gin_config={path}: file not found.")
  gin.clear_config()
  try:
    try:
      gin.parse_config_files_and_bindings(list(gin_config_files), list(gin_bindings))
    except (ValueError, KeyError, SyntaxError, TypeError) as error:
      raise PostprocessError(f"bad gin configuration: {' '.join(str(error).split())}") from None
    for binding, example in (("postprocess.postprocess_fn", "@mean_representation"),
                             ("postprocess.random_seed", "0")):
      try:
        gin.query_parameter(binding)
      except ValueError:
        raise PostprocessError(
            f"{binding} is not bound; pass --gin_config=gin_configs/postprocess/mean.gin (or "
            f"sampled.gin) or --gin_bindings=\"{binding} = {example}\".") from None
    return postprocess(model_dir, output_dir, overwrite=overwrite)
  finally:
    gin.clear_config()


def _bind_auto_dataset(model_folder: str) -> str:
  """Binds dataset.name to the model's training dataset when it is "auto" (or unbound)."""
  try:
    requested = gin.query_parameter("dataset.name")
  except ValueError:
    requested = "auto"
  if requested not in (None, "auto"):
    return requested
  name = folders.recorded_dataset(os.path.join(model_folder, "results"), "train",
                                  flag="--model_dir")
  with gin.unlock_config():
    gin.bind_parameter("dataset.name", name)
  return name


@gin.configurable(STEP, denylist=["model_dir", "output_dir", "overwrite"])
def postprocess(model_dir: str, output_dir: str, overwrite: bool = False,
                postprocess_fn=gin.REQUIRED, random_seed=gin.REQUIRED, name: str = "") -> dict:
  """Loads the trained Gaussian encoder and saves its representation (dlib's `postprocess`).

  Parameters
  ----------
  model_dir, output_dir, overwrite : see `postprocess_with_gin`.
  postprocess_fn : callable
      ``f(dataset, gaussian_encoder, random_state, save_path) -> (transform, checkpoint)``,
      e.g. `methods.mean_representation`.
  random_seed : int
      Seed of the RandomState handed to `postprocess_fn`.
  name : str
      Only recorded in the gin config (dlib names representations with it).

  Returns
  -------
  dict, the results written to ``results/json/postprocess_results.json``.
  """
  del name
  folder = folders.model_folder(model_dir)
  folders.check_output_dir(output_dir, overwrite=overwrite)
  if isinstance(random_seed, bool) or not isinstance(random_seed, (int, np.integer)) \
      or not 0 <= random_seed < 2**32:
    raise PostprocessError(f"postprocess.random_seed must be an integer in [0, 2**32), got "
                           f"{random_seed!r}.")
  started = time.time()
  _bind_auto_dataset(folder)
  dataset = named_data.get_named_ground_truth_data()
  try:
    model = saved_model.LoadedModel(folder, tfhub_dir=os.path.join(folder, "tfhub"))
    model.check_observation_shape(dataset.observation_shape)
  except saved_model.ModelLoadError as error:
    raise PostprocessError(f"--model_dir: {error}") from None

  def gaussian_encoder(observations):
    mean, logvar = model.encode(observations)
    return {"mean": mean, "logvar": logvar}

  with folders.staged_output(output_dir, overwrite=overwrite) as staging:
    transform, checkpoint = postprocess_fn(dataset, gaussian_encoder,
                                           np.random.RandomState(random_seed), staging)
    if checkpoint is not None:
      raise PostprocessError(
          "postprocess.postprocess_fn returned a TF1 checkpoint; infofrag saves a transform's "
          "variables with the representation: return a tf.Module and None instead.")
    info = {"format": "infofrag-representation-v1",
            "postprocess": getattr(transform, "method", getattr(postprocess_fn, "__name__", "")),
            "observation_shape": list(dataset.observation_shape),
            "num_latent": int(model.num_latent), "source_format": model.format}
    export_lib.export_representation(model, transform, os.path.join(staging, "tfhub"), info)
    results = results_lib.update_result_directory(
        os.path.join(staging, "results"), STEP, {"elapsed_time": time.time() - started},
        old_result_directory=os.path.join(folder, "results"))
  return results
