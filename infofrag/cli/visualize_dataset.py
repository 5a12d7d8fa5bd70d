"""`infofrag_visualize_dataset`: PNG grids of samples and factor traversals."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="infofrag_visualize_dataset",
      description="Write a PNG grid of random samples and one traversal strip per factor "
                  "(like dlib's dlib_visualize_dataset).")
  parser.add_argument("--dataset", default="synthetic_dsprites",
                      help="dataset name as for gin's dataset.name (default: synthetic_dsprites)")
  parser.add_argument("--output_dir", required=True, help="folder for the PNG files")
  parser.add_argument("--num_samples", type=int, default=64, help="images in samples.png")
  parser.add_argument("--seed", type=int, default=0, help="random seed")
  return parser


# samples.png is one grid of images: more than this is no longer a picture to look at.
MAX_SAMPLES = 4096


def check_arguments(args: argparse.Namespace) -> None:
  """Rejects a sample count or seed that the figures cannot use (ValueError naming the flag)."""
  if not 1 <= args.num_samples <= MAX_SAMPLES:
    raise ValueError(f"--num_samples must be between 1 and {MAX_SAMPLES}, got {args.num_samples}.")
  if not 0 <= args.seed < 2**32:
    raise ValueError(f"--seed must be an integer in [0, 2**32), got {args.seed}.")


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    check_arguments(args)
  except ValueError as error:
    print(f"infofrag_visualize_dataset: error: {error}", file=sys.stderr)
    return 2
  # Imports after parsing so --help stays instant.
  from infofrag.data import named_data
  from infofrag.data.ground_truth import paths
  from infofrag.reports import dataset_figures
  try:
    data = named_data.get_named_ground_truth_data(args.dataset)
  except (ValueError, paths.DatasetFileNotFoundError) as error:
    print(f"infofrag_visualize_dataset: error: {error}", file=sys.stderr)
    return 2
  written = dataset_figures.visualize_dataset(data, args.output_dir, args.num_samples, args.seed)
  for path in written:
    print(path)
  return 0


if __name__ == "__main__":
  sys.exit(main())
