"""Standard-metric runs over saved models, and the checks made before any work.

A library for `runner` (the CLI dispatcher) and `ensemble` (the zoo analysis): it imports
neither, so data flows one way.
"""

import dataclasses
import os
import sys

from infofrag.zoo import model_info

# The headline number(s) of each metric in summary tables.
HEADLINE_KEYS = {
    "mig": ["discrete_mig"],
    "sap_score": ["SAP_score"],
    "dci": ["disentanglement", "completeness", "informativeness_test"],
    "beta_vae_sklearn": ["eval_accuracy"],
    "factor_vae_metric": ["eval_accuracy"],
    "modularity_explicitness": ["modularity_score", "explicitness_score_test"],
    "irs": ["IRS"],
    "unsupervised": ["gaussian_total_correlation", "gaussian_wasserstein_correlation",
                     "mutual_info_score"],
}
SHORT_METRIC_NAMES = {"sap_score": "sap", "beta_vae_sklearn": "beta_vae",
                      "factor_vae_metric": "factor_vae", "modularity_explicitness": "modularity"}

# Metric-size bindings are checked before any work: they must be positive and at most this.
MAX_POINTS = 1_000_000


@dataclasses.dataclass
class ModelFailure:
  model_dir: str
  reason: str


def metric_columns(metrics):
  """[(metric, key, column name)] of the headline numbers of `metrics`."""
  columns = []
  for metric in metrics:
    for key in HEADLINE_KEYS.get(metric, []):
      short = SHORT_METRIC_NAMES.get(metric, metric)
      name = short if len(HEADLINE_KEYS[metric]) == 1 else f"{short}_{key}"
      if metric == "mig":
        name = "mig"
      columns.append((metric, key, name))
  return columns


def check_size_bindings(gin_bindings):
  """Rejects num_train/num_test/num_eval bindings that are not in [1, MAX_POINTS]."""
  import re  # pylint: disable=g-import-not-at-top
  for binding in gin_bindings:
    match = re.match(r"\s*([\w./]+\.(num_train|num_test|num_eval|num_variance_estimate))\s*=\s*(.+)",
                     binding)
    if not match:
      continue
    try:
      value = int(float(match.group(3)))
    except ValueError:
      raise ValueError(f"--gin_bindings {binding!r}: {match.group(1)} must be an integer.") from None
    if value < 1 or value > MAX_POINTS:
      raise ValueError(f"--gin_bindings {binding!r}: {match.group(1)} must be between 1 and "
                       f"{MAX_POINTS:,} (got {value:,}).")


# Smallest value of each analysis option (checked before any work starts).
ANALYSIS_MINIMUMS = {"fingerprint_size": 2, "min_samples": 2, "fusion_dim": 1, "fusion_steps": 0,
                     "fusion_points": 2, "mc_samples": 2, "spaces_points": 0}


def check_environment(args):
  """One-line errors for the things around the run: gin files, dataset name, output folder."""
  import re  # pylint: disable=g-import-not-at-top
  import tempfile  # pylint: disable=g-import-not-at-top
  for path in args.gin_config:
    if not os.path.isfile(path):
      raise FileNotFoundError(f"--gin_config {path}: no such file.")
  from infofrag.data import named_data  # pylint: disable=g-import-not-at-top
  for binding in args.gin_bindings:
    match = re.match(r"\s*dataset\.name\s*=\s*['\"]([^'\"]*)['\"]\s*$", binding)
    if match and match.group(1) not in named_data.dataset_names() + ["auto"]:
      raise ValueError(f"--gin_bindings {binding!r}: unknown dataset {match.group(1)!r}; valid "
                       f"names: {', '.join(named_data.dataset_names())}.")
  if args.output_dir:
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
      raise ValueError(f"--output_dir {args.output_dir} is a file; give a folder.")
    try:
      os.makedirs(args.output_dir, exist_ok=True)
      with tempfile.TemporaryFile(dir=args.output_dir):
        pass
    except OSError as error:
      raise ValueError(f"--output_dir {args.output_dir} is not writable ({error.strerror}); "
                       "choose another folder.") from None


def check_analysis_options(args):
  """Rejects analysis options below their minimum, naming the flag."""
  for name, minimum in ANALYSIS_MINIMUMS.items():
    value = getattr(args, name, None)
    if value is not None and value < minimum:
      raise ValueError(f"--{name} must be at least {minimum}, got {value}.")
  spaces_wanted = getattr(args, "spaces", False) or getattr(args, "model_similarity", False)
  if spaces_wanted and not args.output_dir:
    raise ValueError("--spaces and --model_similarity need --output_dir (or --zoo with "
                     "--output_dir) for their tables.")


def model_output_id(model_dir):
  """A folder name unique to a model: its name and a digest of its resolved path, so
  `zooA/0` and `zooB/0` never share results."""
  import hashlib  # pylint: disable=g-import-not-at-top
  resolved = os.path.realpath(model_dir)
  digest = hashlib.sha1(resolved.encode()).hexdigest()[:10]
  return f"{os.path.basename(os.path.normpath(model_dir))}-{digest}"


def fallback_metrics_root(model_dir, output_dir):
  """OUT/metrics/<unique id>, or None without an output folder."""
  if output_dir is None:
    return None
  return os.path.join(output_dir, "metrics", model_output_id(model_dir))


def metrics_root_for(model_dir, output_dir):
  """`D/metrics` (None) when D is writable, else OUT/metrics/<unique id>."""
  if os.access(model_dir, os.W_OK):
    return None
  if output_dir is None:
    raise PermissionError(f"{model_dir}: the model directory is read-only; pass --output_dir "
                          "so the metric results can be written there.")
  return fallback_metrics_root(model_dir, output_dir)


def evaluate_standard_metrics(model_dirs, metrics, representation="mean", gin_config_files=(),
                              gin_bindings=(), overwrite=False, output_dir=None, progress=True,
                              loaded_models=None, no_recompute=False):
  """Runs every metric on every model; a failing model is recorded, the rest continue.

  Returns:
    (rows, failures): rows is one dict per good model with its info and metric numbers
    ({metric: results dict} under "results"); failures is a list of ModelFailure.
  """
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  from infofrag.evaluation import evaluate  # pylint: disable=g-import-not-at-top
  from infofrag.zoo import saved_model  # pylint: disable=g-import-not-at-top

  rows, failures = [], []
  bar = tqdm(total=len(model_dirs) * len(metrics), desc="metrics", unit="run",
             disable=not progress or not metrics, file=sys.stderr)
  for model_dir in model_dirs:
    done = 0
    try:
      info = model_info.read_model_info(model_dir)
      model = (loaded_models or {}).get(model_dir)
      if model is None and metrics:
        model = saved_model.load_model(model_dir)
      metrics_root = metrics_root_for(model_dir, output_dir)
      results, sources = {}, set()
      for metric in metrics:
        bar.set_postfix_str(f"{info.name}:{metric}")
        run = evaluate.evaluate_model(
            model_dir, metric, representation, gin_config_files, gin_bindings, overwrite,
            metrics_root, model=model, no_recompute=no_recompute,
            fallback_root=fallback_metrics_root(model_dir, output_dir))
        results[metric] = run.results
        sources.add(run.source)
        bar.update(1)
        done += 1
    except (model_info.ModelDirError, saved_model.ModelLoadError, evaluate.EvaluationError,
            PermissionError) as error:
      # gin appends "In call to configurable ..." lines; the first line is the message.
      failures.append(ModelFailure(model_dir, str(error).strip().splitlines()[0]))
      bar.update(len(metrics) - done)
      continue
    row = {"model": info.name, "model_dir": model_dir, "dataset": info.dataset,
           "method": info.method_label, "hyperparameter": info.hyperparameter,
           "value": info.hyperparameter_value, "seed": info.seed, "results": results,
           "metrics_by": "+".join(sorted(sources)) or None}
    for metric, key, column in metric_columns(metrics):
      row[column] = results[metric].get(key)
    rows.append(row)
  bar.close()
  return rows, failures


def report_failures(failures, stream=None):
  stream = stream or sys.stdout
  for failure in failures:
    print(f"FAILED {failure.model_dir}: {failure.reason}", file=stream)
