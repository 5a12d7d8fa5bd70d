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

import argparse
import os
import sys

from infofrag.cli import fusion_demo
from infofrag.cli import quickstart

QUICK_HOTSPOTS = ["--betas=1,16", "--seeds=0-1", "--training_steps=1500",
                  "--fingerprint_size=500", "--num_train=500", "--min_samples=2"]
QUICK_FUSION = ["--sizes=2,4", "--repeats=3", "--fusion_steps=1500", "--fingerprint_size=100",
                "--objectives=info,vi"]
QUICK_FUSION_LEARNER = ("circle", "beta_vae_circle_quick.gin")  # 64 units, batch 128, lr 0.003


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
      quickstart.add_ensemble_arguments(sub, betas="1,4,16", seeds="0-9")
    else:
      fusion_demo.add_fusion_arguments(sub, sizes=(2, 4, 8), repeats=2,
                                       objectives=("info", "vi"))
  return parser


def _with_quick_defaults(parser, argv, quick_flags):
  """Re-parses with the quick flags first, so flags given by the user still win."""
  experiment, rest = argv[0], argv[1:]
  return parser.parse_args([experiment] + quick_flags + rest)


def run_agreement(args) -> int:
  from infofrag.experiments import agreement  # pylint: disable=g-import-not-at-top
  summary = agreement.run(args.output_dir, quick=args.quick, seed=args.seed)
  with open(os.path.join(args.output_dir, "agreement.md")) as f:
    print(f.read())
  print(f"Spearman NMI {summary['spearman']['nmi']:.3f}, VI {summary['spearman']['vi']:.3f}; "
        f"tables and agreement.png in {args.output_dir}")
  return 0


def run_hotspots(args) -> int:
  from infofrag.experiments import hotspots  # pylint: disable=g-import-not-at-top
  configs, betas, seeds = quickstart.check_ensemble_arguments(args)
  code = quickstart.run_ensemble(args, configs, betas, seeds, program="infofrag_reproduce hotspots")
  analysis = os.path.join(args.output_dir, "analysis")
  if not os.path.exists(os.path.join(analysis, "groups.csv")):
    return code or 1
  figure = hotspots.composite_figure(analysis,
                                     os.path.join(args.output_dir, "hotspots_composite.png"))
  print(f"\ncomposite figure: {figure}")
  return code


def main(argv=None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  parser = build_parser()
  args = parser.parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if args.quick and args.experiment in ("hotspots", "fusion"):
    quick_flags = QUICK_HOTSPOTS if args.experiment == "hotspots" else QUICK_FUSION
    if args.experiment == "fusion" and not args.gin_config:
      from infofrag.utils import paths  # pylint: disable=g-import-not-at-top
      quick_flags = quick_flags + [f"--gin_config={paths.gin_config_path(*QUICK_FUSION_LEARNER)}"]
    args = _with_quick_defaults(parser, argv, quick_flags)
  if args.experiment == "fusion":  # fingerprints and fuses in this process: TensorFlow quiet
    from infofrag.utils import quiet_tensorflow  # pylint: disable=g-import-not-at-top
    quiet_tensorflow.import_tensorflow()
  try:
    if args.experiment == "agreement":
      return run_agreement(args)
    if args.experiment == "hotspots":
      return run_hotspots(args)
    return fusion_demo.run(args)
  except (ValueError, FileNotFoundError) as error:
    print(f"infofrag_reproduce {args.experiment}: error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
