"""`infofrag_visualize_model`: dlib's `dlib_visualize_model`, same flags and files.

  infofrag_visualize_model --model_dir=D/model --output_dir=D/visualizations [--overwrite]

Writes reconstructions/reconstructions.jpg, sampled/samples.jpg,
traversals/traversals<i>.jpg and animated_traversals/<kind><i>.gif (see
infofrag.visualize.visualize_model). `--help` does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from infofrag.cli import common

PROGRAM = "infofrag_visualize_model"


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=prog, allow_abbrev=False,
      description="Draw a trained model's reconstructions, samples, latent traversals and "
                  "traversal animations (GIFs), as disentanglement_lib's visualize_model.")
  common.add_dlib_model_dir_argument(parser)
  parser.add_argument("--output_dir", required=True,
                      help="the visualizations folder, e.g. D/visualizations")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing OUTPUT_DIR (once the new one is complete)")
  parser.add_argument("--dataset", default=None, metavar="NAME",
                      help="draw images from this dataset instead of the training one (e.g. "
                           "synthetic_dsprites for a dsprites_full model without its files)")
  parser.add_argument("--num_animations", type=int, default=5,
                      help="mean codes animated per kind (default 5, dlib's)")
  parser.add_argument("--num_frames", type=int, default=20,
                      help="frames per animation (default 20)")
  parser.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
  common.add_verbose_argument(parser)
  return parser


def run(model_dir: str, output_dir: str, *, overwrite: bool = False, verbose: bool = False,
        prog: str = PROGRAM, **options: Any) -> int:
  """Draws the visualizations; prints one line; returns the exit code (2: bad input)."""
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=verbose)
  from infofrag.data.ground_truth import paths
  from infofrag.visualize import visualize_model
  from infofrag.utils import step_folders as folders
  try:
    written = visualize_model.visualize(model_dir, output_dir, overwrite=overwrite, **options)
  except (folders.WorkflowError, paths.DatasetFileNotFoundError) as error:
    print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
    return 2
  print(f"{prog}: wrote {len(written)} files to {output_dir}")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  return run(args.model_dir, args.output_dir, overwrite=args.overwrite, verbose=args.verbose,
             num_animations=args.num_animations, num_frames=args.num_frames, fps=args.fps,
             dataset_name=args.dataset)


def dlib_main(argv: Sequence[str] | None = None, *,
              prog: str = "dlib_visualize_model") -> int:
  """dlib_visualize_model: dlib's pictures and GIFs of a trained model."""
  parser = common.dlib_model_parser(
      prog, "Visualize a trained model (reconstructions, samples, traversals).",
      "directory to save the visualizations in")
  args = parser.parse_args(argv)
  missing = common.require_flags(prog, args, "model_dir", "output_dir")
  if missing is not None:
    return missing
  return run(args.model_dir, args.output_dir, overwrite=args.overwrite, prog=prog)


if __name__ == "__main__":
  sys.exit(main())
