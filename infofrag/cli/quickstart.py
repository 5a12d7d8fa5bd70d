"""`infofrag_quickstart`: the main job on a fresh machine, end to end, on embedded data.

1. trains a small ensemble of beta-VAEs on `synthetic_dsprites` with the quick config
   (default: 2 beta values x 5 seeds, 600 steps each) into OUT/zoo/<n>/, two processes
   at once;
2. runs `infofrag_evaluate --zoo=OUT/zoo --output_dir=OUT/analysis`: MIG, SAP and DCI per
   model (with reduced sample sizes, see --num_train) next to the channel analysis
   (information per channel, NMI with each factor, hotspots, structure figures);
3. prints the models and hotspots tables and where the figures are.

Re-running resumes: finished models and cached analysis stages are reused.
"""

import argparse
import os
import sys


def build_parser():
  parser = argparse.ArgumentParser(
      prog="infofrag_quickstart",
      description="Train a small beta-VAE ensemble on synthetic_dsprites and evaluate it "
                  "(standard metrics + channel analysis). No downloads.")
  parser.add_argument("--output_dir", default="outputs/quickstart",
                      help="where the zoo and the analysis go (default outputs/quickstart)")
  parser.add_argument("--betas", default="1,8", help="beta values, comma-separated (default 1,8)")
  parser.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-4 (default) or 0,1")
  parser.add_argument("--processes", type=int, default=2, help="trainings at once (default 2)")
  parser.add_argument("--training_steps", type=int, default=600,
                      help="model.training_steps of every model (default 600, so that ten "
                           "models train in about 7 minutes on 2 cores; the quick config alone "
                           "uses 1000)")
  parser.add_argument("--gin_config", default=None,
                      help="training config (default gin_configs/quick/vae.gin)")
  parser.add_argument("--fingerprint_size", type=int, default=1000,
                      help="fingerprint points (default 1000, as in the paper)")
  parser.add_argument("--num_train", type=int, default=2000,
                      help="points for MIG/SAP/DCI training samples (dlib default 10000; "
                           "smaller here to keep the quickstart quick); test samples are half")
  parser.add_argument("--metrics", default="mig,sap_score,dci", help="standard metrics to compute")
  parser.add_argument("--min_samples", type=int, default=5,
                      help="OPTICS min_samples (paper: 20, for ensembles of 50+ models)")
  return parser


def main(argv=None):
  args = build_parser().parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from infofrag.cli import evaluate as evaluate_cli  # pylint: disable=g-import-not-at-top
  from infofrag.training import sweep  # pylint: disable=g-import-not-at-top
  from infofrag.utils import paths  # pylint: disable=g-import-not-at-top

  try:
    betas = [float(b) for b in args.betas.split(",") if b.strip()]
    seeds = sweep.parse_seeds(args.seeds)
    config = args.gin_config or paths.gin_config_path("quick", "vae.gin")
  except (ValueError, FileNotFoundError) as error:
    print(f"infofrag_quickstart: error: {error}", file=sys.stderr)
    return 2
  zoo = os.path.join(args.output_dir, "zoo")
  extra = [] if args.training_steps is None else [f"model.training_steps = {args.training_steps}"]
  models = sweep.expand_grid([config], [("vae.beta", [repr(b) for b in betas])], seeds, extra)
  print(f"[1/2] training {len(models)} models ({len(betas)} betas x {len(seeds)} seeds) "
        f"into {zoo}", flush=True)
  status = sweep.run_sweep(models, zoo, processes=args.processes)
  failed = {n: s for n, s in status.items() if s not in ("trained", "skipped")}
  for number, reason in sorted(failed.items()):
    print(f"model {number}: {reason}", file=sys.stderr)
  if len(failed) == len(models):
    print("infofrag_quickstart: error: every training failed; see the logs above.", file=sys.stderr)
    return 1
  analysis = os.path.join(args.output_dir, "analysis")
  num_test = max(1, args.num_train // 2)
  bindings = [f"mig.num_train = {args.num_train}", f"sap_score.num_train = {args.num_train}",
              f"sap_score.num_test = {num_test}", f"dci.num_train = {args.num_train}",
              f"dci.num_test = {num_test}"]
  print(f"[2/2] evaluating the ensemble into {analysis}", flush=True)
  evaluate_args = [f"--zoo={zoo}", f"--output_dir={analysis}", f"--metrics={args.metrics}",
                   f"--fingerprint_size={args.fingerprint_size}",
                   f"--min_samples={args.min_samples}", "--per_hyperparameter"]
  evaluate_args += [f"--gin_bindings={b}" for b in bindings]
  return evaluate_cli.main(evaluate_args)


if __name__ == "__main__":
  sys.exit(main())
