"""`infofrag_reproduce_study`: dlib's `dlib_reproduce`, same flags and layout.

  infofrag_reproduce_study --model_num=250 --output_directory=out/250
  infofrag_reproduce_study --model_dir=trained/model --output_directory=out   # no training
  infofrag_reproduce_study --model_num=250 --only_print

Trains model N of the study into OUT/model, draws OUT/visualizations, postprocesses it
(OUT/postprocessed/{mean,sampled}) and computes every metric of the study on each
representation (OUT/metrics/<representation>/<metric>/results), with dlib's seeds (see
infofrag.workflow.reproduce). Beyond dlib's flags: --gin_bindings (appended to the
training bindings), --metrics and --evaluation_gin_bindings (fewer or smaller metrics),
--no_visualizations. `--help` does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from infofrag.cli import common

PROGRAM = "infofrag_reproduce_study"


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=prog, allow_abbrev=False,
      description="Train, visualize, postprocess and evaluate one model of a study in "
                  "disentanglement_lib's layout (dlib_reproduce).")
  parser.add_argument("--study", default="unsupervised_study_v1",
                      help="the study (default unsupervised_study_v1)")
  parser.add_argument("--output_directory", default=None,
                      help="output folder; '{model_num}' and '{study}' are filled in (default "
                           "output/{study}/{model_num}, or output with --model_dir)")
  parser.add_argument("--model_dir", default=None,
                      help="an already trained model folder (holding tfhub/): training is "
                           "skipped")
  parser.add_argument("--model_num", type=int, default=0,
                      help="the study's model number to train (default 0)")
  parser.add_argument("--only_print", action="store_true",
                      help="only print the model's, postprocess and evaluation configurations")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace existing step outputs")
  extra = parser.add_argument_group("infofrag's additions (smaller runs)")
  extra.add_argument("--gin_bindings", action="append", default=[], metavar="BINDING",
                     help="training binding appended to the study's, e.g. "
                          "\"model.training_steps = 1000\" (repeatable)")
  extra.add_argument("--metrics", default=None,
                     help="comma-separated metric configs of the study to run (default all)")
  extra.add_argument("--evaluation_gin_bindings", action="append", default=[],
                     metavar="BINDING",
                     help="binding appended to every metric's, e.g. \"mig.num_train = 1000\" "
                          "(repeatable)")
  extra.add_argument("--no_visualizations", action="store_true",
                     help="skip OUT/visualizations")
  common.add_progress_argument(extra)
  common.add_verbose_argument(extra)
  return parser


def main(argv: Sequence[str] | None = None, *, prog: str = PROGRAM) -> int:
  args = build_parser(prog).parse_args(argv)
  from infofrag.utils import step_folders as folders
  from infofrag.workflow import reproduce
  metrics = None
  if args.metrics is not None:
    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
  try:
    plan = reproduce.make_plan(study_name=args.study, model_num=args.model_num,
                               output_directory=args.output_directory,
                               model_dir=args.model_dir,
                               extra_train_bindings=args.gin_bindings, metrics=metrics)
    print(reproduce.describe(plan) + "\n")
    if args.only_print:
      return 0
    reproduce.check_outputs(plan, overwrite=args.overwrite,
                            visualize=not args.no_visualizations)
  except folders.WorkflowError as error:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=args.verbose)
  from infofrag.training import train
  from infofrag.utils import locks
  from infofrag.zoo import errors
  try:
    done = reproduce.run(plan, overwrite=args.overwrite,
                         visualize=not args.no_visualizations,
                         evaluation_bindings=args.evaluation_gin_bindings,
                         progress=not args.no_progress,
                         log=lambda line: print(f"{prog}: {line}", flush=True))
  except KeyboardInterrupt:
    print(f"\n{prog}: interrupted; finished steps are kept (rerun with --model_dir="
          f"{plan.model_dir} to skip training).", file=sys.stderr)
    return 130
  except (folders.WorkflowError, train.TrainingError, locks.FolderLockedError,
          errors.ModelLoadError, FileNotFoundError) as error:
    print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
    return 2
  skipped = done.pop("skipped")
  for key, results in done.items():
    scores = ", ".join(f"{name}={value:.4g}" for name, value in results.items()
                       if isinstance(value, float) and name != "elapsed_time")
    print(f"{key}: {scores}")
  print(f"{prog}: {len(done)} metric result(s) in {plan.output_directory}"
        + (f"; skipped (not in infofrag): {', '.join(skipped)}" if skipped else ""))
  return 0


def dlib_main(argv: Sequence[str] | None = None, *, prog: str = "dlib_reproduce") -> int:
  """dlib_reproduce: trains, visualizes, postprocesses and evaluates model --model_num of
  --study (infofrag_reproduce_study with dlib's flags only)."""
  parser = common.dlib_parser(prog, "Reproduce one model of a study (train, visualize, postprocess, "
                         "evaluate) in dlib's layout.")
  parser.add_argument("--study", default="unsupervised_study_v1", help="name of the study")
  parser.add_argument("--output_directory", default=None,
                      help="output directory ('{model_num}' and '{study}' are filled in)")
  parser.add_argument("--model_dir", default=None, help="trained model to use (no training)")
  parser.add_argument("--model_num", type=int, default=0, help="model number to train")
  common.add_absl_bool(parser, "only_print", "only print the configurations")
  common.add_absl_bool(parser, "overwrite", "replace existing outputs")
  args = parser.parse_args(argv)
  forwarded = [f"--study={args.study}", f"--model_num={args.model_num}"]
  if args.output_directory is not None:
    forwarded.append(f"--output_directory={args.output_directory}")
  if args.model_dir is not None:
    forwarded.append(f"--model_dir={args.model_dir}")
  forwarded += ["--only_print"] * args.only_print + ["--overwrite"] * args.overwrite
  return main(forwarded, prog=prog)


if __name__ == "__main__":
  sys.exit(main())
