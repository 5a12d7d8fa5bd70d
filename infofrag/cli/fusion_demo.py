"""`infofrag_reproduce fusion`: the paper's SO(2) ensemble-fusion experiment (Murphy et al., Fig. "fusion").

Trains 1-D beta-VAEs on `circle` as a training sweep (config
gin_configs/circle/beta_vae_circle.gin, model.random_seed = 0, 1, ...), fingerprints
them on N evenly spaced angles, fuses ensembles of several sizes for each
objective in 2-D and writes, to --output_dir:

  fusion_table.csv / fusion_table.md   ensemble size x objective: continuity mean and std over
                                       repeats, fused information vs the members' mean and max (bits)
  continuity_vs_size.png               the paper's plot (continuity falls as the ensemble grows)
  fused_embeddings.png                 fused embeddings of repeat 0, coloured by angle
  fingerprints.npz                     the weak learners' fingerprints
  models/<k>/                          the weak learners (reused on a re-run, so runs resume)

Quick version (12 learners of gin_configs/circle/beta_vae_circle_quick.gin: 64 units,
3,000 steps at batch 128; sizes 2 and 4 x 3 repeats; about 2 minutes on two CPU cores;
see docs/reproduce/README.md for why its learners differ):

  infofrag_reproduce fusion --output_dir=/tmp/fusion_small --quick

Full version (the paper: 250 learners x 3000 steps, 20,000 fusion steps, several hours):

  infofrag_reproduce fusion --output_dir=/tmp/fusion_full --sizes=2,3,5,10,15,20,30,50 --repeats=5
"""

import argparse
import os
import sys

from infofrag.cli import common


def _int_list(text):
  try:
    values = [int(v) for v in text.split(",") if v.strip()]
  except ValueError:
    raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
  if not values or min(values) < 1:
    raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
  return values


def _objective_list(text):
  values = [v.strip() for v in text.split(",") if v.strip()]
  unknown = [v for v in values if v not in ("info", "vi", "nmi")]
  if not values or unknown:
    raise argparse.ArgumentTypeError(f"objectives must be among info, vi, nmi; got {text!r}")
  return values


def build_parser():
  parser = argparse.ArgumentParser(
      prog="infofrag_reproduce fusion",
      description="The SO(2) ensemble-fusion experiment: weak 1-D beta-VAEs on the circle fused "
                  "into 2-D; continuity vs ensemble size, fused vs member information.",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("--output_dir", required=True, help="folder for models, tables and figures")
  add_fusion_arguments(parser)
  return parser


def add_fusion_arguments(parser, *, sizes=(2, 3, 5, 10, 15, 20, 30, 50), repeats=5,
                         objectives=("info", "vi", "nmi")):
  """The experiment's flags (defaults: the paper's scale)."""
  parser.add_argument("--sizes", type=_int_list, default=list(sizes),
                      help="comma-separated ensemble sizes")
  parser.add_argument("--repeats", type=int, default=repeats,
                      help="repeats per size (each on its own block of max(sizes) learners)")
  parser.add_argument("--objectives", type=_objective_list, default=list(objectives),
                      help="comma-separated fusion objectives")
  parser.add_argument("--fusion_steps", type=int, default=20000, help="SGD steps per fusion")
  parser.add_argument("--learning_rate", type=float, default=3.0, help="fusion SGD learning rate")
  parser.add_argument("--training_steps", type=int, default=None,
                      help="training steps per weak learner (default: the config's 3000)")
  parser.add_argument("--batch_size", type=int, default=None,
                      help="weak learners' batch size (default: the config's 2048)")
  parser.add_argument("--learner_learning_rate", type=float, default=None,
                      help="weak learners' Adam learning rate (default: the config's 0.001)")
  parser.add_argument("--fingerprint_size", "--num_points", dest="fingerprint_size", type=int,
                      default=200, help="evenly spaced fingerprint angles N (--num_points is an "
                                        "older name)")
  parser.add_argument("--gin_config", action="append", default=[], metavar="FILE",
                      help="weak-learner config file (repeatable; default "
                           "gin_configs/circle/beta_vae_circle.gin)")
  parser.add_argument("--processes", type=int, default=2,
                      help="weak learners trained at once without --scheduler")
  common.add_scheduler_argument(parser, what="the weak learners' training")
  parser.add_argument("--seed", type=int, default=0, help="seed of the fusion initialisations")
  common.add_progress_argument(parser)


def learner_bindings(args):
  """Gin bindings of the weak learners from the flags that override the config."""
  bindings = []
  if args.training_steps is not None:
    bindings.append(f"model.training_steps = {args.training_steps}")
  if args.batch_size is not None:
    bindings.append(f"model.batch_size = {args.batch_size}")
  if args.learner_learning_rate is not None:
    bindings.append(f"vae/AdamOptimizer.learning_rate = {args.learner_learning_rate!r}")
  return bindings


def check_arguments(args):
  """The first problem with the flags as a one-line message, or None."""
  checks = [(args.repeats >= 1, "--repeats must be >= 1"),
            (args.fusion_steps >= 0, "--fusion_steps must be >= 0"),
            (args.learning_rate > 0, "--learning_rate must be > 0"),
            (args.fingerprint_size >= 3, "--fingerprint_size must be >= 3"),
            (args.training_steps is None or args.training_steps >= 1, "--training_steps must be >= 1"),
            (args.batch_size is None or args.batch_size >= 1, "--batch_size must be >= 1"),
            (args.learner_learning_rate is None or args.learner_learning_rate > 0,
             "--learner_learning_rate must be > 0"),
            (args.processes >= 1, "--processes must be >= 1"),
            *[(os.path.isfile(path), f"--gin_config {path}: no such file")
              for path in args.gin_config]]
  return next((message for ok, message in checks if not ok), None)


def main(argv=None):
  return run(build_parser().parse_args(argv))


def run(args):
  """Trains (or reuses) the learners, fuses, and writes the tables and figures."""
  problem = check_arguments(args)
  if problem is None and args.scheduler != "none":
    from infofrag.distributed import scheduler  # pylint: disable=g-import-not-at-top
    try:
      scheduler.parse_scheduler(args.scheduler)
    except ValueError as error:
      problem = str(error)
  if problem:
    print(f"infofrag_reproduce fusion: error: {problem}", file=sys.stderr)
    return 2
  # Heavy imports only after the arguments are valid (so --help stays instant).
  from infofrag.experiments import so2_fusion  # pylint: disable=g-import-not-at-top
  try:
    so2_fusion.run(args.output_dir, sizes=args.sizes, repeats=args.repeats,
                   objectives=args.objectives, fusion_steps=args.fusion_steps,
                   learning_rate=args.learning_rate, num_points=args.fingerprint_size,
                   gin_configs=args.gin_config, extra_bindings=learner_bindings(args),
                   processes=args.processes, scheduler=args.scheduler, seed=args.seed,
                   progress=not args.no_progress)
  except so2_fusion.LearnerTrainingError as error:
    print(f"infofrag_reproduce fusion: error: {error}", file=sys.stderr)
    return 1
  print(open(os.path.join(args.output_dir, "fusion_table.md")).read())
  return 0


if __name__ == "__main__":
  sys.exit(main())
