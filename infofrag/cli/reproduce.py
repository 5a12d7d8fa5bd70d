"""`infofrag_reproduce EXPERIMENT --output_dir=DIR [--quick]`: the paper's headline results.

Experiments (each resumable: finished models and results in DIR are reused):

  agreement  section 4.1: Bhattacharyya vs Monte Carlo NMI/VI on nine synthetic spaces;
             agreement.{csv,md,json}, agreement.png (seconds).
  hotspots   beta-VAE ensembles on synthetic_dsprites_32 at several betas (default
             beta 1, 4, 16 x 10 seeds, about 30 minutes on 2 cores); the evaluation's
             tables and figures in DIR/analysis, and DIR/hotspots_composite.png.
  fusion     the SO(2) experiment: continuity of fused spaces against ensemble size for
             the info and vi objectives (default: sizes 2, 4, 8 x 2 repeats, 16 learners,
             about 20 minutes on 2 cores; the paper's scale is --sizes=2,3,5,10,15,20,30,50
             --repeats=5 --objectives=info,vi,nmi, about 250 learner-minutes here).

--quick runs a small version of each in under about 2 minutes on 2 cores (fusion's trains
12 cheaper learners, gin_configs/circle/beta_vae_circle_quick.gin: 64 units, batch 128).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from infofrag.cli import common

QUICK_HOTSPOTS = ["--betas=1,16", "--seeds=0-1", "--training_steps=1500",
                  "--fingerprint_size=500", "--num_train=500", "--min_samples=2"]
QUICK_FUSION = ["--sizes=2,4", "--repeats=3", "--fusion_steps=1500", "--fingerprint_size=100",
                "--objectives=info,vi"]
QUICK_FUSION_LEARNER = ("circle", "beta_vae_circle_quick.gin")  # 64 units, batch 128, lr 0.003


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


def add_fusion_arguments(parser: argparse.ArgumentParser, *,
                         sizes: Sequence[int] = (2, 3, 5, 10, 15, 20, 30, 50), repeats: int = 5,
                         objectives: Sequence[str] = ("info", "vi", "nmi")) -> None:
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


def learner_bindings(args: argparse.Namespace) -> list[str]:
  """Gin bindings of the weak learners from the flags that override the config."""
  bindings = []
  if args.training_steps is not None:
    bindings.append(f"model.training_steps = {args.training_steps}")
  if args.batch_size is not None:
    bindings.append(f"model.batch_size = {args.batch_size}")
  if args.learner_learning_rate is not None:
    bindings.append(f"vae/AdamOptimizer.learning_rate = {args.learner_learning_rate!r}")
  return bindings


def check_arguments(args: argparse.Namespace) -> str | None:
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


def run_fusion(args: argparse.Namespace) -> int:
  """Trains (or reuses) the learners, fuses, and writes the tables and figures."""
  from infofrag.distributed import scheduler
  problem = check_arguments(args)
  spec = scheduler.IN_PROCESS
  if problem is None:
    try:
      spec = scheduler.parse_scheduler(args.scheduler)
    except ValueError as error:
      problem = str(error)
  if problem:
    print(f"infofrag_reproduce fusion: error: {problem}", file=sys.stderr)
    return 2
  # Heavy imports only after the arguments are valid (so --help stays instant).
  from infofrag.experiments import so2_fusion
  try:
    so2_fusion.run(args.output_dir, sizes=args.sizes, repeats=args.repeats,
                   objectives=args.objectives, fusion_steps=args.fusion_steps,
                   learning_rate=args.learning_rate, num_points=args.fingerprint_size,
                   gin_configs=args.gin_config, extra_bindings=learner_bindings(args),
                   processes=args.processes, scheduler=spec, seed=args.seed,
                   progress=not args.no_progress)
  except so2_fusion.LearnerTrainingError as error:
    print(f"infofrag_reproduce fusion: error: {error}", file=sys.stderr)
    return 1
  with open(os.path.join(args.output_dir, "fusion_table.md")) as f:
    print(f.read())
  return 0


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="infofrag_reproduce", description="Reproduce the paper's headline results.",
      formatter_class=argparse.RawDescriptionHelpFormatter,
      epilog="\n".join(__doc__.splitlines()[2:]))
  experiments = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
  for name, text in [("agreement", "Bhattacharyya vs Monte Carlo NMI/VI (section 4.1)"),
                     ("hotspots", "hotspots of beta-VAE ensembles sharpen with beta"),
                     ("fusion", "SO(2) fusion: continuity against ensemble size")]:
    sub = experiments.add_parser(name, help=text, description=text)
    sub.add_argument("--output_dir", required=True, help="folder for everything it writes")
    sub.add_argument("--quick", action="store_true",
                     help="a small version, about 2 minutes on 2 cores")
    if name == "agreement":
      sub.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    elif name == "hotspots":
      common.add_ensemble_arguments(sub, betas="1,4,16", seeds="0-9")
    else:
      add_fusion_arguments(sub, sizes=(2, 4, 8), repeats=2,
                                       objectives=("info", "vi"))
  return parser


def _with_quick_defaults(parser, argv, quick_flags):
  """Re-parses with the quick flags first, so flags given by the user still win."""
  experiment, rest = argv[0], argv[1:]
  return parser.parse_args([experiment] + quick_flags + rest)


def run_agreement(args: argparse.Namespace) -> int:
  from infofrag.experiments import agreement
  summary = agreement.run(args.output_dir, quick=args.quick, seed=args.seed)
  with open(os.path.join(args.output_dir, "agreement.md")) as f:
    print(f.read())
  print(f"Spearman NMI {summary['spearman']['nmi']:.3f}, VI {summary['spearman']['vi']:.3f}; "
        f"tables and agreement.png in {args.output_dir}")
  return 0


def run_hotspots(args: argparse.Namespace) -> int:
  from infofrag.experiments import hotspots
  from infofrag.utils import layout
  configs, betas, seeds, spec = common.check_ensemble_arguments(args)
  code = common.run_ensemble(args, configs, betas, seeds, spec,
                             program="infofrag_reproduce hotspots")
  analysis = os.path.join(args.output_dir, "analysis")
  if not os.path.exists(layout.table_path(analysis, "groups")):
    return code or 1
  figure = hotspots.composite_figure(analysis,
                                     os.path.join(args.output_dir, "hotspots_composite.png"))
  print(f"\ncomposite figure: {figure}")
  return code


def main(argv: Sequence[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  parser = build_parser()
  args = parser.parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if args.quick and args.experiment in ("hotspots", "fusion"):
    quick_flags = QUICK_HOTSPOTS if args.experiment == "hotspots" else QUICK_FUSION
    if args.experiment == "fusion" and not args.gin_config:
      from infofrag.utils import paths
      quick_flags = quick_flags + [f"--gin_config={paths.gin_config_path(*QUICK_FUSION_LEARNER)}"]
    args = _with_quick_defaults(parser, argv, quick_flags)
  if args.experiment == "fusion":  # fingerprints and fuses in this process: TensorFlow quiet
    from infofrag.utils import quiet_tensorflow
    quiet_tensorflow.import_tensorflow()
  try:
    if args.experiment == "agreement":
      return run_agreement(args)
    if args.experiment == "hotspots":
      return run_hotspots(args)
    return run_fusion(args)
  except (ValueError, FileNotFoundError) as error:
    print(f"infofrag_reproduce {args.experiment}: error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
