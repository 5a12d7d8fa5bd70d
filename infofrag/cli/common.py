"""The flags every infofrag command shares: one name, one meaning, one help text each.

  --gin_config / --gin_bindings   gin files and bindings (repeatable, applied in order)
  --zoo                           a zoo folder: ROOT/<n>/ model directories (dlib's layout)
  --scheduler                     where heavy work runs (this process, or Dask)
  --no_progress                   hide progress bars
  --metrics                       dlib metric names, from the metric registry
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, Sequence

SCHEDULER_HELP = ("none (default: this process), local or local:N (a Dask LocalCluster of N "
                  "worker processes, default one per core), tcp://HOST:PORT or the path of a Dask "
                  "scheduler file (an existing cluster; outputs must be on a path every worker "
                  "sees)")


def add_gin_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                      what: str) -> None:
  """--gin_config and --gin_bindings, both repeatable; `what` says what they configure."""
  parser.add_argument("--gin_config", action="append", default=[], metavar="FILE",
                      help=f"gin config file for {what} (repeatable; later files override "
                           "earlier ones)")
  parser.add_argument("--gin_bindings", action="append", default=[], metavar="BINDING",
                      help=f"gin binding for {what}, e.g. \"vae.beta = 4.\" or "
                           "\"mig.num_train = 1000\" (repeatable, applied last)")


def add_zoo_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                     help_text: str, required: bool = False) -> None:
  """--zoo ROOT (ROOT/<n>/ model directories); --output_root, its older name, still works."""
  parser.add_argument("--zoo", "--output_root", dest="zoo", default=None, metavar="ROOT",
                      required=required, help=help_text)


def add_progress_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
  """--no_progress."""
  parser.add_argument("--no_progress", action="store_true", help="hide progress bars")


def add_verbose_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
  """--verbose: TensorFlow's C++ start-up messages, hidden by default."""
  parser.add_argument("--verbose", action="store_true",
                      help="show TensorFlow's C++ start-up messages (hidden by default)")


def add_scheduler_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                           what: str) -> None:
  """--scheduler; `what` names the work it distributes."""
  parser.add_argument("--scheduler", default="none", help=f"where {what} runs: {SCHEDULER_HELP}")


def metrics_help(default: str) -> str:
  """Help text of a --metrics flag, listing the registry's metrics and aliases."""
  from infofrag.metrics import registry
  aliases = ", ".join([f"{alias}={name}" for alias, name in sorted(registry.ALIASES.items())]
                      + [f"{name}={'+'.join(targets)}"
                         for name, targets in registry.EXPANSIONS.items()])
  return (f"comma-separated dlib metric names, 'all' or 'none' (default {default}); metrics: "
          f"{', '.join(sorted(registry.METRICS))}; aliases: {aliases}")


def parse_metrics(text: str) -> list[str]:
  """dlib metric names of a --metrics value ('none': no metric)."""
  if text.strip().lower() == "none":
    return []
  from infofrag.metrics import registry
  return registry.resolve_metric_names(text)


def add_dlib_model_dir_argument(parser: argparse.ArgumentParser) -> None:
  """--model_dir as dlib's steps take it: the trained model's tfhub/ + results/ folder."""
  parser.add_argument("--model_dir", required=True,
                      help="the trained model's folder holding tfhub/ and results/ (dlib's "
                           "MODEL_DIR, i.e. infofrag's D/model; D itself is accepted too)")


# dlib's flag dialect (absl): the bin/dlib_* commands.
_ABSL_TRUE = ("true", "t", "1", "yes")
_ABSL_FALSE = ("false", "f", "0", "no")


def absl_bool(text: str) -> bool:
  """An absl boolean flag value: true/t/1/yes or false/f/0/no (any case)."""
  value = str(text).strip().lower()
  if value in _ABSL_TRUE:
    return True
  if value in _ABSL_FALSE:
    return False
  raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def dlib_parser(prog: str, description: str) -> argparse.ArgumentParser:
  """A parser of dlib's flags for `prog` (no abbreviations, as absl)."""
  return argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)


def add_absl_bool(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
  """--name, --name=true|false and --noname, as absl's DEFINE_boolean."""
  parser.add_argument(f"--{name}", nargs="?", const=True, default=False, type=absl_bool,
                      metavar="BOOL", help=help_text)
  parser.add_argument(f"--no{name}", dest=name, action="store_false", help=argparse.SUPPRESS)


def add_dlib_gin_arguments(parser: argparse.ArgumentParser) -> None:
  """dlib's --gin_config and --gin_bindings (repeatable)."""
  parser.add_argument("--gin_config", action="append", default=[],
                      help="gin config file (repeatable)")
  parser.add_argument("--gin_bindings", action="append", default=[],
                      help="gin binding (repeatable)")


def fail(prog: str, message: str, code: int = 2) -> int:
  """Prints the first line of `message` as `prog`'s error; returns `code`."""
  print(f"{prog}: error: {str(message).strip().splitlines()[0]}", file=sys.stderr)
  return code


def dlib_model_parser(prog: str, description: str, output_help: str
                      ) -> argparse.ArgumentParser:
  """dlib's flags of a step from a trained model to an output folder: --model_dir,
  --output_dir (`output_help`) and --overwrite."""
  parser = dlib_parser(prog, description)
  parser.add_argument("--model_dir", help="directory to take the trained model from")
  parser.add_argument("--output_dir", help=output_help)
  add_absl_bool(parser, "overwrite", "replace an existing OUTPUT_DIR")
  return parser


def require_flags(prog: str, args: argparse.Namespace, *names: str) -> int | None:
  """Exit code 2 (with the flag named) when a required flag is empty, else None."""
  for name in names:
    if not getattr(args, name):
      return fail(prog, f"--{name} is required.")
  return None


def resumable(program: str, function: Callable[..., int], *args: Any) -> int:
  """`function(*args)`, with Ctrl-C and errors of the machine (disk full, read-only) ended
  in one line: what finished is on disk, and a rerun resumes.

  Returns
  -------
  int
      `function`'s exit code; 130 after Ctrl-C, 2 after an error of the machine.
  """
  try:
    return function(*args)
  except KeyboardInterrupt:
    print(f"\n{program}: interrupted; finished results and caches are kept, run the same "
          "command again to resume.", file=sys.stderr)
    return 130
  except OSError as error:
    from infofrag.zoo import loading as models_lib
    if not models_lib.is_environment_error(error):
      raise
    where = f" {error.filename}" if error.filename else ""
    return fail(program, f"cannot write{where}: {error.strerror}; free space, lift the limit or "
                         "choose another --output_dir, then rerun to resume.")


# The zoo analysis as infofrag_evaluate and infofrag_quickstart print it.
def report_duplicates_and_stages(analysis: Any) -> None:
  """Prints the models counted once and the stages that failed for a group or dataset."""
  for duplicate in analysis.all_duplicates:
    print(f"DUPLICATE {duplicate.model_dir}: {duplicate.reason} as model {duplicate.duplicate_of}"
          "; counted once", file=sys.stderr)
  for failure in analysis.stage_failures:
    print(f"FAILED stage {failure.stage} ({failure.dataset}, {failure.subject}): "
          f"{failure.reason}", file=sys.stderr)


def run_analysis(model_dirs: Sequence[str], options: Any, run_info: dict, *, program: str,
                 tensorboard: bool = False, known_failures: Sequence = ()) -> int:
  """The ensemble analysis into options.output_dir: tables, report.html (and TensorBoard
  HParams runs); prints the tables and where everything went.

  Parameters
  ----------
  model_dirs : sequence of str
  options : EvaluationOptions
      Checked (`infofrag.analysis.options.check_options`) by the caller.
  run_info : dict
      ``command`` (list of str, the command line) and ``started`` (time.time()).
  program : str
      The command's name, in messages.
  tensorboard : bool
      Also write TensorBoard HParams runs.
  known_failures : sequence of ModelFailure
      Failures found before the analysis (e.g. trainings that failed).

  Returns
  -------
  int
      The exit code: 0, 1 when a model or a stage failed, 2 for unusable input.
  """
  from infofrag.evaluation import metric_runs
  from infofrag.analysis import pipeline
  from infofrag.analysis import outputs
  try:
    analysis = pipeline.analyse_zoo(model_dirs, options, known_failures=known_failures)
  except pipeline.EvaluationInputError as error:
    return fail(program, str(error))
  if not analysis.datasets:  # Nothing analysed: keep the tables of an earlier run.
    metric_runs.report_failures(analysis.failures)
    print(f"{program}: no model could be analysed; the tables in {options.output_dir} were "
          "left as they were.", file=sys.stderr)
    return 1
  from infofrag.reports import html_report
  run_info = html_report.collect_run_info(run_info["command"], run_info["started"])
  markdown = outputs.write_tables(analysis, run_info)
  report = html_report.write_report(options.output_dir, run_info=run_info)
  print(outputs.summary_text(analysis, markdown))
  if tensorboard:
    from infofrag.reports import tensorboard_hparams
    print(f"TensorBoard HParams: tensorboard --logdir "
          f"{tensorboard_hparams.write_hparams(options.output_dir)}")
  metric_runs.report_failures(analysis.failures)
  report_duplicates_and_stages(analysis)
  duplicates = len(analysis.all_duplicates)
  print(f"\n{len(analysis.rows('models'))} model(s) analysed, {len(analysis.failures)} failed"
        + (f", {duplicates} duplicate(s) counted once" if duplicates else "")
        + (f", {len(analysis.stage_failures)} stage(s) failed" if analysis.stage_failures else "")
        + f"; tables, figures and results.json in {options.output_dir}\n"
        f"report (open in a browser): {report}")
  return 1 if analysis.failures or analysis.stage_failures else 0


# A beta x seed ensemble, trained then analysed (infofrag_quickstart, infofrag_reproduce hotspots).
def add_ensemble_arguments(parser: argparse.ArgumentParser, *, betas: str, seeds: str) -> None:
  """The flags of a beta x seed ensemble run (shared with `infofrag_reproduce hotspots`)."""
  parser.add_argument("--betas", default=betas,
                      help=f"beta values, comma-separated (default {betas})")
  parser.add_argument("--seeds", default=seeds, help=f"seeds, e.g. 0-4 or 0,1 (default {seeds})")
  parser.add_argument("--processes", type=int, default=2,
                      help="trainings at once without --scheduler (default 2)")
  add_scheduler_argument(parser, what="training (one model per Dask worker) and the "
                                             "analysis")
  parser.add_argument("--training_steps", type=int, default=None,
                      help="model.training_steps of every model (default: the config's, 4000 "
                           "for gin_configs/quick32/vae.gin)")
  parser.add_argument("--gin_config", action="append", default=[],
                      help="training config file(s) of the ensemble, parsed in order (repeatable; "
                           "default gin_configs/quick32/vae.gin)")
  parser.add_argument("--fingerprint_size", type=int, default=1000,
                      help="fingerprint points (default 1000, as in the paper)")
  parser.add_argument("--num_train", type=int, default=2000,
                      help="points for MIG/SAP/DCI training samples (dlib default 10000; "
                           "smaller here to keep the quickstart quick); test samples are half")
  parser.add_argument("--metrics", default="mig,sap_score",
                      help=metrics_help("mig,sap_score") + " (DCI's boosted trees "
                           "would double the run time on 2 cores)")
  add_progress_argument(parser)
  parser.add_argument("--min_samples", type=int, default=3,
                      help="OPTICS min_samples (default 3 for 5 models per beta; the paper "
                           "used 20 for 50 models)")


def check_ensemble_arguments(args: argparse.Namespace
                             ) -> tuple[list[str], list[float], list[int], Any]:
  """(config paths, betas, seeds, SchedulerSpec) of valid ensemble flags; ValueError names
  the bad flag."""
  from infofrag.utils import checks
  from infofrag.utils import paths
  try:
    betas = [float(b) for b in args.betas.split(",") if b.strip()]
  except ValueError:
    raise ValueError(f"--betas must be comma-separated numbers, got {args.betas!r}.") from None
  if not betas:
    raise ValueError("--betas names no value.")
  seeds = checks.parse_int_ranges(args.seeds, flag="--seeds")
  for flag, values in (("--betas", betas), ("--seeds", seeds)):
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
      raise ValueError(f"{flag} repeats {', '.join(f'{v:g}' for v in repeated)}; each model "
                       "would be trained twice, identically. Give each value once.")
  from infofrag.distributed import scheduler
  spec = scheduler.parse_scheduler(args.scheduler)
  for flag in ("processes", "training_steps", "fingerprint_size", "num_train"):
    value = getattr(args, flag)
    if value is not None and value < 1:
      raise ValueError(f"--{flag} must be a positive integer, got {value}.")
  if args.min_samples < 2:
    raise ValueError(f"--min_samples must be at least 2, got {args.min_samples}.")
  configs = args.gin_config or [paths.gin_config_path("quick32", "vae.gin")]
  for config in configs:
    if not os.path.isfile(config):
      raise FileNotFoundError(f"--gin_config {config}: no such file.")
  return configs, betas, seeds, spec


def run_ensemble(args: argparse.Namespace, configs: Sequence[str], betas: Sequence[float],
                 seeds: Sequence[int], spec: Any, program: str, extra_config: str | None = None,
                 analysis_settings: dict[str, Any] | None = None) -> int:
  """Trains the beta x seed grid (and the extra model) into OUT/zoo and analyses it into
  OUT/analysis.

  Parameters
  ----------
  args : argparse.Namespace
      The flags of `add_ensemble_arguments` and --output_dir.
  configs, betas, seeds, spec
      `check_ensemble_arguments`'s result (`spec`: the parsed --scheduler).
  program : str
      The command's name, in messages and in results.json.
  extra_config : str or None
      One more model's training config, trained beside the grid.
  analysis_settings : dict or None
      More `EvaluationOptions` fields of the analysis (e.g. ``{"spaces": True}``).

  Returns
  -------
  int
      The exit code.
  """
  from infofrag.distributed import scheduler
  from infofrag.distributed import training
  from infofrag.training import sweep
  from infofrag.utils import layout
  started = time.time()
  zoo = os.path.join(args.output_dir, "zoo")
  extra = [] if args.training_steps is None else [f"model.training_steps = {args.training_steps}"]
  models = sweep.expand_grid(list(configs), [("vae.beta", [repr(b) for b in betas])], seeds, extra)
  described = f"{len(betas)} betas x {len(seeds)} seeds"
  if extra_config:
    models.append(sweep.SweepModel(len(models), [extra_config],
                                   extra + [f"model.random_seed = {seeds[0]}"]))
    described += f", and {os.path.basename(extra_config)}"
  print(f"[1/2] training {len(models)} models ({described}) into {zoo}", flush=True)
  try:
    status = training.train_sweep(models, zoo, scheduler_spec=spec,
                                  processes=args.processes, progress=not args.no_progress)
  except (scheduler.SharedPathError, ConnectionError) as error:
    print(f"{program}: error: --scheduler={spec}: {error}", file=sys.stderr)
    return 2
  failed = {n: s for n, s in status.items() if s not in ("trained", "skipped")}
  for number, reason in sorted(failed.items()):
    print(f"model {number}: {reason}", file=sys.stderr)
  if len(failed) == len(models):
    print(f"{program}: error: every training failed; see the logs above.", file=sys.stderr)
    return 1
  analysis = os.path.join(args.output_dir, "analysis")
  num_test = max(1, args.num_train // 2)
  bindings = [f"mig.num_train = {args.num_train}", f"sap_score.num_train = {args.num_train}",
              f"sap_score.num_test = {num_test}", f"dci.num_train = {args.num_train}",
              f"dci.num_test = {num_test}"]
  print(f"[2/2] evaluating the ensemble into {analysis}", flush=True)
  from infofrag.analysis import options as options_lib
  from infofrag.zoo import loading
  options = options_lib.EvaluationOptions(
      metrics=tuple(parse_metrics(args.metrics)), output_dir=analysis,
      gin_bindings=tuple(bindings), fingerprint_size=args.fingerprint_size,
      min_samples=args.min_samples, per_hyperparameter=True, scheduler=spec,
      progress=not args.no_progress, **(analysis_settings or {}))
  try:
    options_lib.check_options(options)
    model_dirs = loading.find_models(zoo=zoo)
  except (ValueError, FileNotFoundError) as error:
    status = fail(program, str(error))
  else:
    run_info = {"command": [program] + list(sys.argv[1:]), "started": started}
    from infofrag.utils import quiet_tensorflow
    quiet_tensorflow.import_tensorflow()
    status = resumable(program, lambda: run_analysis(
        model_dirs, options, run_info, program=program,
        known_failures=loading.failed_trainings(zoo)))
  report = layout.report_path(analysis)
  if os.path.exists(report):
    print(f"\nThe browsable report (one self-contained file): {report}\n"
          f"  open it in a web browser, e.g. file://{os.path.abspath(report)}", flush=True)
  if failed:  # also listed in the report's failures (from the zoo's sweep.json)
    print(f"{program}: {len(failed)} of {len(models)} trainings failed ("
          + ", ".join(f"model {n}" for n in sorted(failed)) + "); the tables cover the others.",
          file=sys.stderr)
    return status or 1
  return status
