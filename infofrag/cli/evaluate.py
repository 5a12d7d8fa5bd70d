"""`infofrag_evaluate`: standard metrics for saved models, and (with --output_dir) the
paper's channel analysis of the whole ensemble side by side.

Per model, results go to `D/metrics/<representation>/<metric>/results/` in dlib's layout
(or under the output folder when D is read-only). Existing results are reused when they
answer the same request. Broken models are reported and skipped; the exit code is 1 if
any failed, 2 for bad input (nothing computed).

dlib's `dlib_evaluate` is the mode `--input_dir`: one postprocessed representation
(infofrag_postprocess or dlib_postprocess output), the metric bound by gin:

  infofrag_evaluate --input_dir=D/postprocessed/mean --output_dir=D/metrics/mean/mig \
      --gin_config=gin_configs/evaluate/mig.gin
  infofrag_evaluate --input_dir=P --output_dir=O --metrics=mig,sap_score   # O/<metric>/
  infofrag_evaluate --input_dir=P --output_dir=O --gin_evaluation_config_glob='cfg/*.gin'
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Sequence

from infofrag.cli import common

PROGRAM = "infofrag_evaluate"
DEFAULT_METRICS = "mig,sap_score,dci"


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=PROGRAM,
      description="Evaluate saved models (infofrag SavedModels or dlib TF1 Hub modules) with "
                  "dlib's metrics and, for ensembles, the channel-level information analysis.")
  where = parser.add_argument_group("which models")
  where.add_argument("--model_dir", action="append", default=[],
                     help="a model directory holding model/tfhub (repeatable)")
  where.add_argument("--model_dirs", action="append", default=[],
                     help="glob pattern of model directories, e.g. 'zoo/*' (repeatable)")
  common.add_zoo_argument(where, help_text="zoo root: every ROOT/<n>/model/tfhub (dlib's "
                                           "published layout)")
  where.add_argument("--input_dir", default=None, metavar="POSTPROCESSED",
                     help="dlib_evaluate's mode: evaluate the representation of one "
                          "postprocessed folder (infofrag_postprocess output) with the metric "
                          "bound by gin (evaluation.evaluation_fn, e.g. --gin_config="
                          "gin_configs/evaluate/mig.gin) into OUTPUT_DIR/results; with "
                          "--metrics, infofrag's config of each into OUTPUT_DIR/<metric>/results")
  where.add_argument("--gin_evaluation_config_glob", default=None, metavar="PATTERN",
                     help="with --input_dir: one metric per matching gin config, into "
                          "OUTPUT_DIR/<config name>/results (dlib_evaluate's flag)")
  what = parser.add_argument_group("what to compute")
  what.add_argument("--metrics", default=DEFAULT_METRICS, help=common.metrics_help(DEFAULT_METRICS))
  what.add_argument("--representation", default="mean", choices=["mean", "sampled"],
                    help="dlib postprocess method (default mean)")
  common.add_gin_arguments(what, what="the metrics (after gin_configs/evaluate/<metric>.gin; "
                                      "\"dataset.name = '...'\" overrides every model's dataset)")
  what.add_argument("--overwrite", action="store_true",
                    help="recompute results even when a saved one answers the same request")
  what.add_argument("--no_recompute", action="store_true",
                    help="fail instead of recomputing a saved result whose settings, dataset or "
                         "model weights differ from the request")
  common.add_verbose_argument(what)
  common.add_progress_argument(what)
  analysis = parser.add_argument_group("ensemble analysis (needs --output_dir)")
  analysis.add_argument("--output_dir", default=None,
                        help="folder for tables, figures, the fingerprint sample and caches; "
                             "enables the channel analysis")
  analysis.add_argument("--fingerprint_size", type=int, default=1000,
                        help="number of shared fingerprint points per dataset (paper: 1000)")
  analysis.add_argument("--fingerprint_seed", type=int, default=0,
                        help="seed of the fingerprint sample")
  analysis.add_argument("--min_samples", type=int, default=20,
                        help="OPTICS min_samples for hotspots (paper: 20)")
  analysis.add_argument("--per_hyperparameter", action="store_true",
                        help="also find hotspots separately for each hyperparameter value")
  analysis.add_argument("--include_inactive", action="store_true",
                        help="let channels with at most 0.01 bits (the paper's cut; shown as "
                             "inactive in the tables) into the pairwise NMI/VI stage")
  common.add_scheduler_argument(analysis, what="embedding, metrics and the pairwise stage")
  analysis.add_argument("--fusion", action="store_true",
                        help="fuse the ensemble (and each hotspot) into one representation")
  analysis.add_argument("--fusion_dim", type=int, default=2, help="dimension of the fused space")
  analysis.add_argument("--fusion_steps", type=int, default=5000,
                        help="SGD steps of the fusion (paper: 20000)")
  analysis.add_argument("--fusion_points", type=int, default=200,
                        help="how many of the fingerprint points the fusion uses (paper: 200)")
  spaces = parser.add_argument_group("whole representation spaces (needs --output_dir)")
  spaces.add_argument("--spaces", action="store_true",
                      help="spaces.{csv,md}: Monte Carlo I(U;X), NMI/VI with the factors of every "
                           "model, each group's concatenated latents and each fused space")
  spaces.add_argument("--model_similarity", action="store_true",
                      help="model_similarity.{csv,md}: Monte Carlo NMI/VI of every pair of models "
                           "of a group, combined by inverse variance, and a heat map")
  spaces.add_argument("--mc_samples", type=int, default=2000,
                      help="Monte Carlo draws per information estimate (default 2000)")
  spaces.add_argument("--mc_seed", type=int, default=0, help="seed of the Monte Carlo draws")
  spaces.add_argument("--spaces_points", type=int, default=0,
                      help="data points for the whole-space measures (default: the fingerprint "
                           "sample; more points draw and embed a sample of their own)")
  bars = parser.add_argument_group("error bars and chance levels (needs --output_dir)")
  bars.add_argument("--resamples", type=int, default=200,
                    help="most resamples of a group's models for its intervals and hotspot "
                         "stability (delete-d jackknife), and bootstrap resamples of the "
                         "selection table (default 200; 0: none)")
  bars.add_argument("--resample_seed", type=int, default=0,
                    help="seed of the resamples and of the chance-level permutations")
  bars.add_argument("--permutations", type=int, default=100,
                    help="permutations of the chance levels of NMI (default 100; 0: none)")
  browsing = parser.add_argument_group("browsing the results (needs --output_dir)")
  browsing.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard HParams summaries (one run per model: its "
                             "hyperparameters and metrics) under OUTPUT_DIR/tensorboard; needs "
                             "the tensorboard package")
  return parser


def options_from_args(args: argparse.Namespace) -> Any:
  """The `EvaluationOptions` of parsed flags (metric names resolved)."""
  from infofrag.analysis import options as options_lib
  from infofrag.distributed import scheduler
  return options_lib.EvaluationOptions(
      metrics=tuple(common.parse_metrics(args.metrics)), output_dir=args.output_dir,
      representation=args.representation, gin_config_files=tuple(args.gin_config),
      gin_bindings=tuple(args.gin_bindings), overwrite=args.overwrite,
      no_recompute=args.no_recompute, fingerprint_size=args.fingerprint_size,
      fingerprint_seed=args.fingerprint_seed, min_samples=args.min_samples,
      include_inactive=args.include_inactive,
      scheduler=scheduler.parse_scheduler(args.scheduler),
      per_hyperparameter=args.per_hyperparameter, fusion=args.fusion, fusion_dim=args.fusion_dim,
      fusion_steps=args.fusion_steps, fusion_points=args.fusion_points, spaces=args.spaces,
      model_similarity=args.model_similarity, mc_samples=args.mc_samples, mc_seed=args.mc_seed,
      spaces_points=args.spaces_points, resamples=args.resamples,
      resample_seed=args.resample_seed, permutations=args.permutations,
      progress=not args.no_progress)


def _error(message: str) -> int:
  print(f"{PROGRAM}: error: {message}", file=sys.stderr)
  return 2


def run_metrics_only(model_dirs: Sequence[str], options: Any) -> int:
  """dlib's metrics per model, results in each model's folder; prints a summary table."""
  from infofrag.evaluation import metric_runs
  from infofrag.zoo import loading as models_lib
  from infofrag.reports import tables
  infos, failures = models_lib.read_models(model_dirs, dataset_override=options.dataset_override)
  rows, metric_failures = metric_runs.evaluate_standard_metrics(
      infos, metrics=options.metrics, loader=models_lib.ModelLoader(),
      representation=options.representation, gin_config_files=options.gin_config_files,
      gin_bindings=options.gin_bindings, overwrite=options.overwrite,
      no_recompute=options.no_recompute, progress=options.progress)
  failures += metric_failures
  columns = ["model", "dataset", "method", "value", "seed"]
  from infofrag.metrics import registry
  columns += [column for _, _, column in registry.metric_columns(options.metrics)]
  print(tables.markdown_table(rows, columns + ["metrics_by"]))
  metric_runs.report_failures(failures)
  print(f"{len(rows)} model(s) evaluated, {len(failures)} failed; results in each model's "
        "metrics/<representation>/<metric>/results/ (dlib's layout).")
  return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the command; errors of the machine (disk full, read-only) and Ctrl-C end it with
  one line: what finished is on disk, and a rerun resumes."""
  return common.resumable(PROGRAM, _main, argv)


# Flags of --input_dir mode; every other flag belongs to the model and zoo modes.
INPUT_DIR_FLAGS = ("input_dir", "output_dir", "gin_config", "gin_bindings", "overwrite",
                   "verbose", "no_progress", "metrics", "gin_evaluation_config_glob")


def run_input_dir(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
  """dlib_evaluate: a metric of one postprocessed representation, into --output_dir."""
  for action in parser._actions:
    if action.dest in INPUT_DIR_FLAGS or action.dest == "help":
      continue
    if getattr(args, action.dest) != action.default:
      return _error(f"{action.option_strings[0]} does not apply with --input_dir (which "
                    "evaluates one postprocessed representation, as dlib_evaluate).")
  if not args.output_dir:
    return _error("--input_dir needs --output_dir (where OUTPUT_DIR/results is written).")
  metrics = None
  if args.metrics != DEFAULT_METRICS:
    try:
      metrics = common.parse_metrics(args.metrics)
    except ValueError as error:
      return _error(f"--metrics: {error}")
  if metrics is not None and args.gin_evaluation_config_glob:
    return _error("give --metrics or --gin_evaluation_config_glob with --input_dir, not both.")
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=args.verbose)
  from infofrag.evaluation import evaluate_representation as evaluation
  from infofrag.utils import paths
  from infofrag.utils import step_folders as folders
  from infofrag.zoo import errors
  try:
    if args.gin_evaluation_config_glob:
      done = evaluation.evaluate_config_glob(
          args.input_dir, args.output_dir, args.gin_evaluation_config_glob,
          overwrite=args.overwrite, gin_bindings=args.gin_bindings)
    elif metrics is not None:
      done = evaluation.evaluate_configs(
          args.input_dir, args.output_dir,
          [paths.gin_config_path("evaluate", f"{name}.gin") for name in metrics],
          overwrite=args.overwrite, extra_config_files=args.gin_config,
          gin_bindings=args.gin_bindings)
    else:
      done = {"": evaluation.evaluate_with_gin(
          args.input_dir, args.output_dir, overwrite=args.overwrite,
          gin_config_files=args.gin_config, gin_bindings=args.gin_bindings)}
  except (folders.WorkflowError, errors.ModelLoadError, FileNotFoundError) as error:
    return _error(str(error).splitlines()[0])
  for name, results in done.items():
    scores = ", ".join(f"{key}={value:.4g}" for key, value in results.items()
                       if isinstance(value, float) and key != "elapsed_time")
    print(f"{os.path.join(args.output_dir, name, 'results')}: {scores}")
  return 0


def _main(argv: Sequence[str] | None) -> int:
  started = time.time()
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.input_dir:
    return run_input_dir(args, parser)
  if args.gin_evaluation_config_glob:
    return _error("--gin_evaluation_config_glob needs --input_dir (a postprocessed "
                  "representation).")
  if args.tensorboard:
    import importlib.util
    if not args.output_dir:
      return _error("--tensorboard needs --output_dir (its summaries go to OUTPUT_DIR/tensorboard).")
    if importlib.util.find_spec("tensorboard") is None:
      return _error("--tensorboard needs the tensorboard package; pip install "
                    "\"tensorboard>=2.16,<2.22\" (or infofrag[tensorboard]).")
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=args.verbose)
  from infofrag.zoo import loading as models_lib
  from infofrag.analysis import options as options_lib
  try:
    options = options_from_args(args)
    model_dirs = models_lib.find_models(zoo=args.zoo,
                                        patterns=list(args.model_dir) + list(args.model_dirs))
    options_lib.check_options(options)
  except (ValueError, FileNotFoundError) as error:
    return _error(str(error))
  if not model_dirs:
    return _error("no model directories given or found (use --model_dir, --model_dirs or --zoo).")
  if not options.output_dir:
    return run_metrics_only(model_dirs, options)
  run_info = {"command": [PROGRAM] + list(sys.argv[1:] if argv is None else argv),
              "started": started}
  return common.run_analysis(model_dirs, options, run_info, program=PROGRAM,
                             tensorboard=args.tensorboard,
                             known_failures=models_lib.failed_trainings(args.zoo))


if __name__ == "__main__":
  sys.exit(main())
