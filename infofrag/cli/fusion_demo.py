"""`infofrag_reproduce fusion`: the paper's SO(2) ensemble-fusion experiment (Murphy et al., Fig. "fusion").

Trains 1-D beta-VAEs on `circle` through the normal training code (config
gin_configs/circle/beta_vae_circle.gin, model.random_seed = 0, 1, ...), fingerprints
them on N evenly spaced angles, fuses ensembles of several sizes for each
objective in 2-D and writes, to --output_dir:

  fusion_table.csv / fusion_table.md   ensemble size x objective: continuity mean and std over
                                       repeats, fused information vs the members' mean and max (bits)
  continuity_vs_size.png               the paper's plot (continuity falls as the ensemble grows)
  fused_embeddings.png                 fused embeddings of repeat 0, coloured by angle
  fingerprints.npz                     the weak learners' fingerprints
  models/<k>/                          the weak learners (reused on a re-run, so runs resume)

Quick version (about two minutes on two CPU cores):

  infofrag_reproduce fusion --output_dir=/tmp/fusion_small --quick

Full version (the paper: 250 learners x 3000 steps, 20,000 fusion steps, several hours):

  infofrag_reproduce fusion --output_dir=/tmp/fusion_full --sizes=2,3,5,10,15,20,30,50 --repeats=5
"""

import argparse
import os
import sys


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
  parser.add_argument("--num_points", type=int, default=200, help="evenly spaced fingerprint angles N")
  parser.add_argument("--gin_config", default=None,
                      help="weak-learner config (default gin_configs/circle/beta_vae_circle.gin)")
  parser.add_argument("--seed", type=int, default=0, help="seed of the fusion initialisations")
  parser.add_argument("--progress", action="store_true", help="show training progress bars")


def main(argv=None):
  return run(build_parser().parse_args(argv))


def run(args):
  """Trains (or reuses) the learners, fuses, and writes the tables and figures."""
  if args.repeats < 1 or args.fusion_steps < 0 or args.num_points < 3:
    print("infofrag_reproduce fusion: need --repeats >= 1, --fusion_steps >= 0, --num_points >= 3",
          file=sys.stderr)
    return 2
  # Heavy imports only after the arguments are valid (so --help stays instant).
  from infofrag.fusion import so2_experiment  # pylint: disable=g-import-not-at-top
  num_models = args.repeats * max(args.sizes)
  os.makedirs(args.output_dir, exist_ok=True)
  model_dirs = so2_experiment.train_weak_learners(
      args.output_dir, num_models, training_steps=args.training_steps, gin_config=args.gin_config,
      progress=args.progress)
  fingerprints = so2_experiment.fingerprint_models(model_dirs, args.num_points)
  so2_experiment.save_fingerprints(fingerprints, os.path.join(args.output_dir, "fingerprints.npz"))
  so2_experiment.report_from_fingerprints(
      fingerprints, args.output_dir, args.sizes, args.repeats, args.objectives, args.fusion_steps,
      args.learning_rate, seed=args.seed)
  print(open(os.path.join(args.output_dir, "fusion_table.md")).read())
  return 0


if __name__ == "__main__":
  sys.exit(main())
