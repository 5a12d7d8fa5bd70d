"""`infofrag_quickstart`: the main job on a fresh machine, end to end, on embedded data.

1. trains a small ensemble of beta-VAEs on `synthetic_dsprites_32` with
   `gin_configs/quick32/vae.gin` (default: beta 1 and 16 x 5 seeds, 4000 steps each) and
   one disentanglement-designed model (`gin_configs/quick32/beta_tc_vae.gin`) into
   OUT/zoo/<n>/, two processes at once;
2. runs `infofrag_evaluate --zoo=OUT/zoo --output_dir=OUT/analysis --per_hyperparameter`:
   MIG and SAP per model (reduced sample sizes, see --num_train; DCI's boosted trees are
   left out by default because they would double the run time on 2 cores, add them with
   --metrics=mig,sap_score,dci) next to the channel analysis (information per channel,
   NMI with each factor, hotspots per beta, structure figures) and the whole-space table
   (each model, each beta's concatenated latents, the beta-TC-VAE, the fused spaces;
   Monte Carlo);
3. prints the models, hotspots, per-group (with 95% intervals over the seeds), metrics by
   beta, spaces and model-selection tables (Spearman's rho of each unsupervised score with
   MIG and SAP across the models) and where the figures and the browsable
   OUT/analysis/report.html are.

At beta = 16 the ensemble repeats two pieces of information, the x and y positions, in
nearly every model (two hotspots); at beta = 1 the same information is spread over
rotated, model-specific channels.

Re-running resumes: finished models and cached analysis stages are reused.
"""

import argparse
import os
import sys

from infofrag.cli import common
from infofrag.cli import evaluate as evaluate_cli


# The whole-space table with a fused space beside the models (short fusion and 1,000 Monte
# Carlo draws per estimate keep the analysis to about a minute on 2 cores).
QUICKSTART_ANALYSIS = ["--spaces", "--mc_samples=1000", "--fusion", "--fusion_steps=2000"]


def build_parser():
  parser = argparse.ArgumentParser(
      prog="infofrag_quickstart",
      description="Train a small beta-VAE ensemble on synthetic_dsprites_32 and evaluate it "
                  "(standard metrics + channel analysis). No downloads.")
  parser.add_argument("--output_dir", default="outputs/quickstart",
                      help="where the zoo and the analysis go (default outputs/quickstart)")
  add_ensemble_arguments(parser, betas="1,16", seeds="0-4")
  parser.add_argument("--extra_model_config", default=None,
                      help="one more model trained next to the ensemble, for comparison "
                           "(default gin_configs/quick32/beta_tc_vae.gin; 'none' for none)")
  return parser


def add_ensemble_arguments(parser, *, betas, seeds):
  """The flags of a beta x seed ensemble run (shared with `infofrag_reproduce hotspots`)."""
  parser.add_argument("--betas", default=betas,
                      help=f"beta values, comma-separated (default {betas})")
  parser.add_argument("--seeds", default=seeds, help=f"seeds, e.g. 0-4 or 0,1 (default {seeds})")
  parser.add_argument("--processes", type=int, default=2,
                      help="trainings at once without --scheduler (default 2)")
  common.add_scheduler_argument(parser, what="training (one model per Dask worker) and the "
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
                      help=common.metrics_help("mig,sap_score") + " (DCI's boosted trees "
                           "would double the run time on 2 cores)")
  common.add_progress_argument(parser)
  parser.add_argument("--min_samples", type=int, default=3,
                      help="OPTICS min_samples (default 3 for 5 models per beta; the paper "
                           "used 20 for 50 models)")


def check_ensemble_arguments(args):
  """(config paths, betas, seeds) of valid ensemble flags; ValueError names the bad flag."""
  from infofrag.utils import checks  # pylint: disable=g-import-not-at-top
  from infofrag.utils import paths  # pylint: disable=g-import-not-at-top
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
  from infofrag.distributed import scheduler  # pylint: disable=g-import-not-at-top
  scheduler.parse_scheduler(args.scheduler)
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
  return configs, betas, seeds


def main(argv=None):
  args = build_parser().parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  from infofrag.utils import paths  # pylint: disable=g-import-not-at-top
  try:
    configs, betas, seeds = check_ensemble_arguments(args)
    extra_config = args.extra_model_config or paths.gin_config_path("quick32", "beta_tc_vae.gin")
    if extra_config.lower() == "none":
      extra_config = None
    elif not os.path.isfile(extra_config):
      raise FileNotFoundError(f"--extra_model_config {extra_config}: no such file.")
  except (ValueError, FileNotFoundError) as error:
    print(f"infofrag_quickstart: error: {error}", file=sys.stderr)
    return 2
  return run_ensemble(args, configs, betas, seeds, program="infofrag_quickstart",
                      extra_config=extra_config, evaluate_flags=QUICKSTART_ANALYSIS)


def run_ensemble(args, configs, betas, seeds, program, extra_config=None, evaluate_flags=()):
  """Trains the beta x seed grid (and the extra model) into OUT/zoo and evaluates it into
  OUT/analysis."""
  from infofrag.distributed import scheduler  # pylint: disable=g-import-not-at-top
  from infofrag.distributed import training  # pylint: disable=g-import-not-at-top
  from infofrag.training import sweep  # pylint: disable=g-import-not-at-top
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
    status = training.train_sweep(models, zoo, scheduler_spec=args.scheduler,
                                  processes=args.processes, progress=not args.no_progress)
  except (scheduler.SharedPathError, ConnectionError) as error:
    print(f"{program}: error: --scheduler={args.scheduler}: {error}", file=sys.stderr)
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
  evaluate_args = [f"--zoo={zoo}", f"--output_dir={analysis}", f"--metrics={args.metrics}",
                   f"--fingerprint_size={args.fingerprint_size}",
                   f"--min_samples={args.min_samples}", "--per_hyperparameter"]
  if args.no_progress:
    evaluate_args.append("--no_progress")
  if args.scheduler != "none":
    evaluate_args.append(f"--scheduler={args.scheduler}")
  evaluate_args += list(evaluate_flags)
  evaluate_args += [f"--gin_bindings={b}" for b in bindings]
  status = evaluate_cli.main(evaluate_args)
  report = os.path.join(analysis, "report.html")
  if os.path.exists(report):
    print(f"\nThe browsable report (one self-contained file): {report}\n"
          f"  open it in a web browser, e.g. file://{os.path.abspath(report)}", flush=True)
  if failed:  # also listed in the report's failures (from the zoo's sweep.json)
    print(f"{program}: {len(failed)} of {len(models)} trainings failed ("
          + ", ".join(f"model {n}" for n in sorted(failed)) + "); the tables cover the others.",
          file=sys.stderr)
    return status or 1
  return status

if __name__ == "__main__":
  sys.exit(main())
