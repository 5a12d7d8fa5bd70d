"""`infofrag_sample`: the points to embed in another framework, for an embedding bundle.

    infofrag_sample --dataset=dsprites_full --output=points.npz \
        [--fingerprint_size=1000 --fingerprint_seed=0] \
        [--metrics=mig,sap_score,dci --gin_bindings="mig.num_train = 10000" ...]

writes the fingerprint points of an `infofrag_evaluate` run with the same
--fingerprint_size/--fingerprint_seed and, with --metrics, every point those metrics draw
at the given settings, each once. Embed ``observations`` with your encoder, then write
``MODEL_DIR/embeddings.npz`` with the same ``indices`` (README, "Bring your own encoder").
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from infofrag.cli import common

PROGRAM = "infofrag_sample"


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=PROGRAM, description="Write the dataset points a model must embed for an "
                                "embedding bundle (fingerprint points and, optionally, the "
                                "points dlib's metrics draw).")
  parser.add_argument("--dataset", required=True, help="dataset name (gin's dataset.name)")
  parser.add_argument("--output", required=True, metavar="FILE", help="the points file (.npz)")
  parser.add_argument("--fingerprint_size", type=int, default=1000,
                      help="fingerprint points, as infofrag_evaluate's flag (default 1000)")
  parser.add_argument("--fingerprint_seed", type=int, default=0,
                      help="seed of the fingerprint points, as infofrag_evaluate's flag")
  parser.add_argument("--metrics", default="none",
                      help=common.metrics_help("none") + "; their points are added")
  common.add_gin_arguments(parser, what="the metrics, exactly as given to infofrag_evaluate")
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=False)
  from infofrag.data.ground_truth import paths
  from infofrag.analysis import options as options_lib
  from infofrag.analysis import points
  try:
    metrics = common.parse_metrics(args.metrics)
    if args.fingerprint_size < 2:
      raise ValueError(f"--fingerprint_size must be at least 2, got {args.fingerprint_size}.")
    if not 0 <= args.fingerprint_seed < 2**32:
      raise ValueError(f"--fingerprint_seed must be an integer in [0, 2**32), got "
                       f"{args.fingerprint_seed}.")
    if not args.output.endswith(".npz"):
      raise ValueError(f"--output={args.output}: give a .npz file name.")
    options_lib.check_size_bindings(args.gin_bindings)
    metadata = points.write_points(args.output, args.dataset,
                                   fingerprint_size=args.fingerprint_size,
                                   fingerprint_seed=args.fingerprint_seed, metrics=metrics,
                                   gin_config_files=args.gin_config,
                                   gin_bindings=args.gin_bindings)
  except (ValueError, KeyError, paths.DatasetFileNotFoundError) as error:
    print(f"{PROGRAM}: error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
    return 2
  drawn = ", ".join(f"{name} {entry['draws']:,} draws" for name, entry in
                    metadata["metrics"].items())
  print(f"{args.output}: {metadata['points']:,} points of {args.dataset} "
        f"(fingerprint {args.fingerprint_size:,}, seed {args.fingerprint_seed}"
        + (f"; {drawn}" if drawn else "") + "). Embed 'observations' (float32 NHWC in [0, 1]) "
        "and save the bundle with these 'indices'.")
  return 0


if __name__ == "__main__":
  sys.exit(main())
