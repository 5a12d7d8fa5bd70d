"""`infofrag_evaluate`: standard metrics for saved models, and (with --output_dir or
--zoo) the paper's channel analysis of the whole ensemble side by side.

Per model, results go to `D/metrics/<representation>/<metric>/results/` in dlib's layout
(or under the output folder when D is read-only). Existing results are reused unless
--overwrite. Broken models are reported and skipped; the exit code is 1 if any failed.
"""

import argparse
import sys
import time

DEFAULT_METRICS = "mig,sap_score,dci"


def build_parser():
  parser = argparse.ArgumentParser(
      prog="infofrag_evaluate",
      description="Evaluate saved models (infofrag SavedModels or dlib TF1 Hub modules) with "
                  "dlib's metrics and, for ensembles, the channel-level information analysis.")
  where = parser.add_argument_group("which models")
  where.add_argument("--model_dir", action="append", default=[],
                     help="a model directory holding model/tfhub (repeatable)")
  where.add_argument("--model_dirs", action="append", default=[],
                     help="glob pattern of model directories, e.g. 'zoo/*' (repeatable)")
  where.add_argument("--zoo", default=None,
                     help="zoo root: every ROOT/<n>/model/tfhub (dlib's published layout)")
  what = parser.add_argument_group("what to compute")
  what.add_argument("--metrics", default=DEFAULT_METRICS,
                    help="comma-separated dlib metric names or aliases, or 'all' or 'none' "
                         f"(default {DEFAULT_METRICS}; all = beta_vae_sklearn, factor_vae_metric, "
                         "mig, modularity_explicitness, sap_score, dci, irs, unsupervised)")
  what.add_argument("--representation", default="mean", choices=["mean", "sampled"],
                    help="dlib postprocess method (default mean)")
  what.add_argument("--gin_config", action="append", default=[],
                    help="extra gin file(s) for the metrics, parsed after gin_configs/evaluate/<metric>.gin")
  what.add_argument("--gin_bindings", action="append", default=[],
                    help="extra gin binding(s), e.g. \"mig.num_train = 1000\" or "
                         "\"dataset.name = 'synthetic_dsprites'\"")
  what.add_argument("--verbose", action="store_true",
                    help="show TensorFlow's C++ start-up messages (hidden by default)")
  what.add_argument("--overwrite", action="store_true",
                    help="recompute results even when a saved one answers the same request")
  what.add_argument("--no_recompute", action="store_true",
                    help="fail instead of recomputing a saved result whose settings, dataset or "
                         "model weights differ from the request")
  analysis = parser.add_argument_group("ensemble analysis (needs --output_dir)")
  analysis.add_argument("--output_dir", default=None,
                        help="folder for tables, figures, the fingerprint sample and caches; "
                             "enables the channel analysis")
  analysis.add_argument("--fingerprint_size", type=int, default=1000,
                        help="number of shared fingerprint points per dataset (paper: 1000)")
  analysis.add_argument("--fingerprint_seed", type=int, default=0,
                        help="seed of the fingerprint sample")
  analysis.add_argument("--min_samples", type=int, default=20,
                        help="OPTICS min_samples for hotspots (paper: 20)")
  analysis.add_argument("--per_hyperparameter", action="store_true",
                        help="also find hotspots separately for each hyperparameter value")
  analysis.add_argument("--fusion", action="store_true",
                        help="fuse the ensemble (and each hotspot) into one representation")
  analysis.add_argument("--fusion_dim", type=int, default=2, help="dimension of the fused space")
  analysis.add_argument("--fusion_steps", type=int, default=5000,
                        help="SGD steps of the fusion (paper: 20000)")
  analysis.add_argument("--fusion_points", type=int, default=200,
                        help="fingerprint points used by the fusion (paper: 200)")
  spaces = parser.add_argument_group("whole representation spaces (needs --output_dir)")
  spaces.add_argument("--spaces", action="store_true",
                      help="spaces.{csv,md}: Monte Carlo I(U;X), NMI/VI with the factors of every "
                           "model, each group's concatenated latents and each fused space")
  spaces.add_argument("--model_similarity", action="store_true",
                      help="model_similarity.{csv,md}: Monte Carlo NMI/VI of every pair of models "
                           "of a group, combined by inverse variance, and a heat map")
  spaces.add_argument("--mc_samples", type=int, default=2000,
                      help="Monte Carlo draws per information estimate (default 2000)")
  spaces.add_argument("--mc_seed", type=int, default=0, help="seed of the Monte Carlo draws")
  spaces.add_argument("--spaces_points", type=int, default=0,
                      help="data points for the whole-space measures (default: the fingerprint "
                           "sample; more points draw and embed a sample of their own)")
  report = parser.add_argument_group("browsing the results (needs --output_dir)")
  report.add_argument("--tensorboard", action="store_true",
                      help="also write TensorBoard HParams summaries (one run per model: its "
                           "hyperparameters and metrics) under OUTPUT_DIR/tensorboard; needs the "
                           "tensorboard package")
  return parser


def main(argv=None):
  started_at = time.time()
  args = build_parser().parse_args(argv)
  # For the run summary of OUTPUT_DIR/report.html.
  args.command_line = ["infofrag_evaluate"] + list(sys.argv[1:] if argv is None else argv)
  args.started_at = started_at
  if args.tensorboard:
    import importlib.util  # pylint: disable=g-import-not-at-top
    if not args.output_dir:
      print("infofrag_evaluate: error: --tensorboard needs --output_dir (its summaries go to "
            "OUTPUT_DIR/tensorboard).", file=sys.stderr)
      return 2
    if importlib.util.find_spec("tensorboard") is None:
      print("infofrag_evaluate: error: --tensorboard needs the tensorboard package; "
            "pip install \"tensorboard>=2.16,<2.22\" (or infofrag[tensorboard]).", file=sys.stderr)
      return 2
  from infofrag.utils import quiet_tensorflow  # pylint: disable=g-import-not-at-top
  quiet_tensorflow.import_tensorflow(verbose=args.verbose)
  from infofrag.evaluation import runner  # pylint: disable=g-import-not-at-top
  return runner.run_from_args(args)


if __name__ == "__main__":
  sys.exit(main())
