"""`infofrag_postprocess`: dlib's `dlib_postprocess`, same flags and output.

  infofrag_postprocess --model_dir=D/model --output_dir=D/postprocessed/mean \
      --gin_config=gin_configs/postprocess/mean.gin
  infofrag_postprocess --model_dir=D/model --output_dir=D/postprocessed/sampled \
      --representation=sampled --gin_bindings="postprocess.random_seed = 3"

Writes OUTPUT/tfhub (a SavedModel with the signature `representation`: images ->
{"default": codes}) and OUTPUT/results (the model's results plus postprocess.*), for
infofrag's TF2 models and dlib's TF1 Hub modules. `--help` does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from infofrag.cli import common

PROGRAM = "infofrag_postprocess"


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=prog, allow_abbrev=False,
      description="Extract a representation (posterior mean or sample) from a trained model "
                  "into OUTPUT_DIR/{tfhub,results} (disentanglement_lib's postprocess step).")
  common.add_dlib_model_dir_argument(parser)
  parser.add_argument("--output_dir", required=True,
                      help="where the representation goes, e.g. D/postprocessed/mean")
  common.add_gin_arguments(parser, what="the postprocess step (postprocess.postprocess_fn, "
                                        "postprocess.random_seed, dataset.name)")
  parser.add_argument("--representation", choices=["mean", "sampled"], default=None,
                      help="use infofrag's shipped gin_configs/postprocess/<NAME>.gin (dlib's "
                           "config) before any --gin_config")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing OUTPUT_DIR (once the new one is complete)")
  common.add_verbose_argument(parser)
  return parser


def run(model_dir: str, output_dir: str, *, gin_config: Sequence[str] = (),
        gin_bindings: Sequence[str] = (), overwrite: bool = False, verbose: bool = False,
        prog: str = PROGRAM) -> int:
  """Runs the postprocess step; prints one line; returns the exit code (2: bad input)."""
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=verbose)
  from infofrag.postprocessing import postprocess
  from infofrag.utils import step_folders as folders
  try:
    results = postprocess.postprocess_with_gin(model_dir, output_dir, overwrite=overwrite,
                                               gin_config_files=gin_config,
                                               gin_bindings=gin_bindings)
  except (folders.WorkflowError, FileNotFoundError) as error:
    print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
    return 2
  print(f"{prog}: wrote {output_dir} ({results['elapsed_time']:.1f} s)")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  configs = list(args.gin_config)
  if args.representation:
    from infofrag.utils import paths
    configs.insert(0, paths.gin_config_path("postprocess", f"{args.representation}.gin"))
  return run(args.model_dir, args.output_dir, gin_config=configs,
             gin_bindings=args.gin_bindings, overwrite=args.overwrite, verbose=args.verbose)


def dlib_main(argv: Sequence[str] | None = None, *,
              prog: str = "dlib_postprocess") -> int:
  """dlib_postprocess: extracts a representation into OUTPUT_DIR/{tfhub,results}."""
  parser = common.dlib_model_parser(
      prog, "Extract a representation from a trained model (dlib's layout).",
      "directory to save the representation to")
  common.add_dlib_gin_arguments(parser)
  args = parser.parse_args(argv)
  missing = common.require_flags(prog, args, "model_dir", "output_dir")
  if missing is not None:
    return missing
  return run(args.model_dir, args.output_dir, gin_config=args.gin_config,
             gin_bindings=args.gin_bindings, overwrite=args.overwrite, prog=prog)


if __name__ == "__main__":
  sys.exit(main())
