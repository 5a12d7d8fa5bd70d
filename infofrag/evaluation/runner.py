"""Drives `infofrag_evaluate`: per-model metrics, then (optionally) the ensemble analysis.

The metric runs and argument checks live in `metric_runs`; this module only dispatches.
"""

import sys

from infofrag.evaluation import metric_runs
from infofrag.reports import tables
from infofrag.zoo import model_info


def summary_markdown(rows, metrics):
  columns = ["model", "dataset", "method", "value", "seed"]
  columns += [column for _, _, column in metric_runs.metric_columns(metrics)] + ["metrics_by"]
  return tables.markdown_table(rows, columns)


def run_from_args(args):
  """Entry point behind the CLI; returns the process exit code."""
  try:
    model_dirs = model_info.find_model_dirs(args.zoo, list(args.model_dir) + list(args.model_dirs))
    metrics = []
    if args.metrics.strip().lower() != "none":
      from infofrag.metrics import registry  # pylint: disable=g-import-not-at-top
      metrics = registry.resolve_metric_names(args.metrics)
    metric_runs.check_size_bindings(args.gin_bindings)
    metric_runs.check_analysis_options(args)
    metric_runs.check_environment(args)
  except (ValueError, FileNotFoundError) as error:
    print(f"infofrag_evaluate: error: {error}", file=sys.stderr)
    return 2
  if not model_dirs:
    print("infofrag_evaluate: error: no model directories given or found (use --model_dir, "
          "--model_dirs or --zoo).", file=sys.stderr)
    return 2
  if args.output_dir:
    from infofrag.evaluation import ensemble  # pylint: disable=g-import-not-at-top
    return ensemble.run_from_args(args, model_dirs, metrics)
  rows, failures = metric_runs.evaluate_standard_metrics(
      model_dirs, metrics, args.representation, args.gin_config, args.gin_bindings,
      args.overwrite, no_recompute=args.no_recompute)
  print(summary_markdown(rows, metrics))
  metric_runs.report_failures(failures)
  print(f"{len(rows)} model(s) evaluated, {len(failures)} failed; results in each model's "
        "metrics/<representation>/<metric>/results/ (dlib's layout).")
  return 1 if failures else 0
