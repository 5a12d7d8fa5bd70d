"""`infofrag_train`: train one VAE from gin configs into a dlib-layout model directory.

  infofrag_train --gin_config=gin_configs/quick/vae.gin --model_dir=/tmp/m
  infofrag_train --gin_config=F --gin_bindings="vae.beta = 4." --model_dir=D --overwrite
  infofrag_train --gin_config=F --model_dir=D --resume     # after a crash or Ctrl-C
  infofrag_train --gin_config=F --zoo=R --sweep="vae.beta=[1., 4.]" --scheduler=local:2

`--help` does not import TensorFlow; it is imported only when training starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from infofrag.cli import common


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="infofrag_train",
      description="Train a VAE (dlib's methods, TF2) configured by gin; writes "
                  "MODEL_DIR/model/{tfhub,results,tf_checkpoint,logs} in disentanglement_lib's "
                  "layout.")
  common.add_gin_arguments(parser, what="the model and its training")
  parser.add_argument("--model_dir", default=None,
                      help="output directory; it must not exist unless --overwrite "
                           "(required unless --zoo trains a sweep)")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing model directory (at the end, atomically)")
  parser.add_argument("--resume", action="store_true",
                      help="continue an interrupted run from its last checkpoint "
                           "(starts from step 0 if there is none)")
  parser.add_argument("--checkpoint_every", type=int, default=1000, metavar="STEPS",
                      help="steps between checkpoints (default 1000)")
  parser.add_argument("--summary_every", type=int, default=100, metavar="STEPS",
                      help="steps between TensorBoard summaries (default 100)")
  common.add_progress_argument(parser)
  parser.add_argument("--steps_per_call", type=int, default=50, metavar="STEPS",
                      help="training steps per call of the compiled loop (default 50; the "
                           "weights do not depend on it)")
  common.add_verbose_argument(parser)
  sweep = parser.add_argument_group(
      "sweeps (an ensemble into ROOT/<n>/, for infofrag_evaluate --zoo=ROOT)")
  common.add_zoo_argument(sweep, help_text="train a sweep into the zoo ROOT/0, ROOT/1, ...; "
                                           "finished models are skipped, interrupted ones "
                                           "resumed (--output_root is an older name)")
  sweep.add_argument("--sweep", action="append", default=[], metavar="BINDING=[V1, V2]",
                     help="a swept binding, e.g. \"vae.beta=[1., 4.]\" (repeatable; the grid is "
                          "their product, outer to inner in the given order)")
  sweep.add_argument("--seeds", default="0", help="model.random_seed values, e.g. 0-4 (innermost)")
  sweep.add_argument("--study", default=None, metavar="NAME",
                     help="instead of --sweep/--seeds: models of a shipped study, e.g. "
                          "unsupervised_study_v1 (see --model_nums)")
  sweep.add_argument("--model_nums", default=None, metavar="LIST",
                     help="with --study: which study models, e.g. 0-9 or 0,50,100")
  sweep.add_argument("--processes", type=int, default=2,
                     help="trainings run at once (default 2; without --scheduler)")
  common.add_scheduler_argument(sweep, what="the sweep's trainings (one per Dask worker)")
  return parser


def _run_sweep(args):
  """Trains a grid (or a study slice) into --zoo with several processes."""
  from infofrag.training import sweep
  from infofrag.utils import checks
  if args.model_dir:
    print("infofrag_train: error: give either --model_dir (one model) or --zoo "
          "(a sweep), not both", file=sys.stderr)
    return 2
  from infofrag.distributed import scheduler
  try:
    if args.processes < 1:
      raise ValueError("--processes must be >= 1")
    spec = scheduler.parse_scheduler(args.scheduler)  # a bad value fails before any work
    if args.study:
      from infofrag.training import study
      if not args.model_nums:
        raise ValueError("--study needs --model_nums, e.g. --model_nums=0-9")
      description = study.load_study(args.study)
      models = []
      for number in checks.parse_int_ranges(args.model_nums, flag="--model_nums"):
        entry = study.get_model(number, description)
        # Extra configs and bindings come last, so they override the study's.
        models.append(sweep.SweepModel(number, [entry.config_file] + list(args.gin_config),
                                       entry.bindings + list(args.gin_bindings)))
    else:
      axes = [sweep.parse_axis(text) for text in args.sweep]
      models = sweep.expand_grid(args.gin_config, axes, checks.parse_int_ranges(args.seeds, flag="--seeds"),
                                 args.gin_bindings)
    for path in args.gin_config:
      if not os.path.isfile(path):
        raise ValueError(f"gin config file not found: {path}")
  except (ValueError, KeyError, FileNotFoundError) as error:
    print(f"infofrag_train: error: {error}", file=sys.stderr)
    return 2
  from infofrag.distributed import training
  try:
    status = training.train_sweep(models, args.zoo, scheduler_spec=spec,
                                  processes=args.processes, progress=not args.no_progress,
                                  overwrite=args.overwrite)
  except (scheduler.SharedPathError, ConnectionError) as error:
    print(f"infofrag_train: error: --scheduler={spec}: {error}", file=sys.stderr)
    return 2
  sweep.write_status(args.zoo, status)
  failed = [n for n, s in status.items() if s not in ("trained", "skipped")]
  trained = sum(s == "trained" for s in status.values())
  print(f"infofrag_train: sweep in {args.zoo}: {trained} trained, "
        f"{len(status) - trained - len(failed)} already finished, {len(failed)} failed")
  return 1 if failed else 0


def _sigterm_as_interrupt(signum, frame):
  del signum, frame
  raise KeyboardInterrupt  # Lets the loop save a checkpoint before exiting.


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  if args.zoo:
    return _run_sweep(args)
  if not args.model_dir:
    print("infofrag_train: error: --model_dir is required (or --zoo for a sweep)",
          file=sys.stderr)
    return 2
  if args.scheduler != "none":
    print("infofrag_train: error: --scheduler runs sweeps (--zoo); one --model_dir "
          "trains here", file=sys.stderr)
    return 2
  for flag in ("checkpoint_every", "summary_every", "steps_per_call"):
    if getattr(args, flag) < 1:
      print(f"infofrag_train: error: --{flag} must be >= 1", file=sys.stderr)
      return 2
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=args.verbose)
  from infofrag.data.ground_truth import paths
  from infofrag.training import train
  options = train.LoopOptions(checkpoint_every=args.checkpoint_every,
                              summary_every=args.summary_every,
                              steps_per_call=args.steps_per_call,
                              progress=not args.no_progress)
  signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
  try:
    results = train.train_with_gin(args.model_dir, overwrite=args.overwrite,
                                   gin_config_files=args.gin_config,
                                   gin_bindings=args.gin_bindings, resume=args.resume,
                                   options=options)
  except KeyboardInterrupt:
    return 130
  except (train.TrainingError, paths.DatasetFileNotFoundError, ValueError, RuntimeError) as error:
    print(f"infofrag_train: error: {_first_line(error)}", file=sys.stderr)
    return 1
  except Exception as error:
    # Unexpected failures still end with one readable line and a non-zero exit.
    print(f"infofrag_train: error: {type(error).__name__}: {_first_line(error)}", file=sys.stderr)
    return 1
  terms = ", ".join(f"{k}={v:.4g}" for k, v in results.items()
                    if isinstance(v, float) and k != "elapsed_time")
  print(f"infofrag_train: wrote {args.model_dir} ({terms}; "
        f"{results['elapsed_time']:.1f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
