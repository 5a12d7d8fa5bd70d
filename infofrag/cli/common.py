"""The flags every infofrag command shares: one name, one meaning, one help text each.

  --gin_config / --gin_bindings   gin files and bindings (repeatable, applied in order)
  --zoo                           a zoo folder: ROOT/<n>/ model directories (dlib's layout)
  --scheduler                     where heavy work runs (this process, or Dask)
  --no_progress                   hide progress bars
  --metrics                       dlib metric names, from the metric registry
"""

from __future__ import annotations

import argparse

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


def add_scheduler_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                           what: str) -> None:
  """--scheduler; `what` names the work it distributes."""
  parser.add_argument("--scheduler", default="none", help=f"where {what} runs: {SCHEDULER_HELP}")


def metrics_help(default: str) -> str:
  """Help text of a --metrics flag, listing the registry's metrics and aliases."""
  from infofrag.metrics import registry  # pylint: disable=g-import-not-at-top
  aliases = ", ".join([f"{alias}={name}" for alias, name in sorted(registry.ALIASES.items())]
                      + [f"{name}={'+'.join(targets)}"
                         for name, targets in registry.EXPANSIONS.items()])
  return (f"comma-separated dlib metric names, 'all' or 'none' (default {default}); metrics: "
          f"{', '.join(sorted(registry.METRICS))}; aliases: {aliases}")


def parse_metrics(text: str) -> list[str]:
  """dlib metric names of a --metrics value ('none': no metric)."""
  if text.strip().lower() == "none":
    return []
  from infofrag.metrics import registry  # pylint: disable=g-import-not-at-top
  return registry.resolve_metric_names(text)


def add_dlib_model_dir_argument(parser: argparse.ArgumentParser) -> None:
  """--model_dir as dlib's steps take it: the trained model's tfhub/ + results/ folder."""
  parser.add_argument("--model_dir", required=True,
                      help="the trained model's folder holding tfhub/ and results/ (dlib's "
                           "MODEL_DIR, i.e. infofrag's D/model; D itself is accepted too)")
