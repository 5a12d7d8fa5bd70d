"""Standard (dlib) metric runs over a batch of models, with dlib's result layout.

Results go to ``D/metrics/<representation>/<metric>/results/`` of each model, or under the
run's output folder when D is read-only (``OUT/metrics/<unique id>``).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Sequence, TextIO

from infofrag.distributed import tasks
from infofrag.evaluation import evaluate
from infofrag.metrics import registry
from infofrag.zoo import loading as models_lib
from infofrag.zoo import model_info

def model_output_id(model_dir: str) -> str:
  """A folder name unique to a model: its name and a digest of its resolved path, so
  `zooA/0` and `zooB/0` never share results."""
  import hashlib
  resolved = os.path.realpath(model_dir)
  digest = hashlib.sha1(resolved.encode()).hexdigest()[:10]
  return f"{os.path.basename(os.path.normpath(model_dir))}-{digest}"


def fallback_metrics_root(model_dir: str, output_dir: str | None) -> str | None:
  """OUT/metrics/<unique id>, or None without an output folder."""
  if output_dir is None:
    return None
  return os.path.join(output_dir, "metrics", model_output_id(model_dir))


def metrics_root_for(model_dir: str, output_dir: str | None) -> str | None:
  """`D/metrics` (None) when D is writable, else OUT/metrics/<unique id>."""
  if os.access(model_dir, os.W_OK):
    return None
  if output_dir is None:
    raise PermissionError(f"{model_dir}: the model directory is read-only; pass --output_dir "
                          "so the metric results can be written there.")
  return fallback_metrics_root(model_dir, output_dir)


def evaluate_standard_metrics(infos: Sequence[model_info.ModelInfo], *, metrics: Sequence[str],
                              loader: models_lib.ModelLoader, representation: str = "mean",
                              gin_config_files: Sequence[str] = (),
                              gin_bindings: Sequence[str] = (), overwrite: bool = False,
                              output_dir: str | None = None, no_recompute: bool = False,
                              progress: bool = True
                              ) -> tuple[list[dict], list[models_lib.ModelFailure]]:
  """Runs every metric on every model; a failing model is recorded, the rest continue.

  Parameters
  ----------
  infos : sequence of ModelInfo
      The models (their ``dataset`` is the one evaluated on).
  metrics : sequence of str
      dlib metric names.
  loader : ModelLoader
      Shared with the other stages, so each model is loaded once.
  output_dir : str or None
      Where results go for read-only models, or when a model's folder holds dlib's
      results for other settings (``OUT/metrics/<unique id>``).

  Returns
  -------
  rows : list of dict
      One per good model: its identity, ``results`` ({metric: results dict}), the
      headline columns of `metric_columns` and ``metrics_by`` (who wrote the results).
  failures : list of ModelFailure
  """
  from tqdm import tqdm

  rows, failures = [], []
  bar = tqdm(total=len(infos) * len(metrics), desc="metrics", unit="run",
             disable=not progress or not metrics, file=sys.stderr)
  for info in infos:
    done = 0
    try:
      model = loader.load(info.model_dir) if metrics else None
      metrics_root = metrics_root_for(info.model_dir, output_dir)
      results, sources = {}, set()
      for metric in metrics:
        bar.set_postfix_str(f"{info.name}:{metric}")
        run = evaluate.evaluate_model(
            info.model_dir, metric, representation=representation,
            gin_config_files=gin_config_files, gin_bindings=gin_bindings, overwrite=overwrite,
            metrics_root=metrics_root, model=model, no_recompute=no_recompute,
            fallback_root=fallback_metrics_root(info.model_dir, output_dir),
            dataset_name=info.dataset)
        results[metric] = run.results
        sources.add(run.source)
        bar.update(1)
        done += 1
    except Exception as error:
      # One model's failure (a broken file, a metric that cannot handle its codes) is
      # recorded and the others go on; a full disk or read-only file system stops the run.
      if models_lib.is_environment_error(error):
        raise
      failures.append(models_lib.ModelFailure(info.model_dir, models_lib.first_line(error)))
      bar.update(len(metrics) - done)
      continue
    row = {"model": info.name, "model_dir": info.model_dir, "dataset": info.dataset,
           "method": info.method_label, "hyperparameter": info.hyperparameter,
           "value": info.hyperparameter_value, "seed": info.seed, "results": results,
           "metrics_by": "+".join(sorted(sources)) or None}
    for metric, key, column in registry.metric_columns(metrics):
      row[column] = registry.headline_value(metric, key, results[metric])
    rows.append(row)
  bar.close()
  return rows, failures


def evaluate_on_workers(infos: Sequence[model_info.ModelInfo], *, client: Any,
                        **options: Any) -> tuple[list[dict], list[models_lib.ModelFailure]]:
  """`evaluate_standard_metrics` with one Dask task per model (DCI's trees of different
  models then fit in parallel); the same rows and failures, in the models' order."""
  rows, failures = [], []
  calls = [(info, options) for info in infos]
  with tasks.run_tasks(_evaluate_one, calls, client=client, ordered=True) as finished:
    for _, future in finished:
      model_rows, model_failures = future.result()
      rows += model_rows
      failures += model_failures
  return rows, failures


def _evaluate_one(info: model_info.ModelInfo, options: dict) -> tuple[list, list]:
  return evaluate_standard_metrics([info], loader=models_lib.ModelLoader(), progress=False,
                                   **options)


def report_failures(failures: Sequence[models_lib.ModelFailure],
                    stream: TextIO | None = None) -> None:
  """Prints ``FAILED <model dir>: <reason>`` per failure (stdout by default)."""
  stream = stream or sys.stdout
  for failure in failures:
    print(f"FAILED {failure.model_dir}: {failure.reason}", file=stream)
