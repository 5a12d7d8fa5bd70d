"""disentanglement_lib's command-line programs, run by infofrag (the scripts in bin/).

Each ``*_main(argv)`` here, and the ``dlib_main`` of `postprocess`, `reproduce_study` and
`visualize_model`, takes the flags of dlib's script of the same name with their
meaning (absl style: ``--flag=value`` or ``--flag value``; booleans also as ``--noflag``
and ``--flag=false``; multi-string flags repeated) and calls infofrag:

  dlib_train             --model_dir --gin_config --gin_bindings --gin_model_dir
                         --gin_file_name --overwrite
  dlib_postprocess       --model_dir --output_dir --gin_config --gin_bindings --overwrite
  dlib_evaluate          --input_dir --output_dir --gin_config --gin_bindings
                         --gin_evaluation_config_glob --overwrite
  dlib_reproduce         --study --output_directory --model_dir --model_num --only_print
                         --overwrite
  dlib_aggregate_results --result_file_pattern --output_path (dlib's defaults)
  dlib_visualize_model   --model_dir --output_dir --overwrite
  dlib_udr               --model_dirs --output_dir --gin_config --gin_bindings
                         --gin_evaluation_config_glob

Model folders are dlib's: ``dlib_train --model_dir=X`` writes ``X/tfhub`` and
``X/results`` (infofrag_train's ``--model_dir=D`` writes ``D/model/...``). Errors are one
line ``PROG: error: ...`` with exit code 2 (1 when a training itself fails).
"""

from __future__ import annotations

import os
from typing import Sequence

from infofrag.cli import common

def train_main(argv: Sequence[str] | None = None, *, prog: str = "dlib_train") -> int:
  """dlib_train: trains a model into MODEL_DIR/{tfhub,results,tf_checkpoint,logs}."""
  parser = common.dlib_parser(prog, "Train a model configured by gin into MODEL_DIR (dlib's layout).")
  parser.add_argument("--model_dir", help="directory to save the trained model in")
  parser.add_argument("--gin_model_dir", help="directory of --gin_file_name")
  parser.add_argument("--gin_file_name", help="model config file in --gin_model_dir")
  common.add_dlib_gin_arguments(parser)
  common.add_absl_bool(parser, "overwrite", "replace an existing MODEL_DIR")
  args = parser.parse_args(argv)
  missing = common.require_flags(prog, args, "model_dir")
  if missing is not None:
    return missing
  configs = list(args.gin_config)
  if args.gin_file_name is not None:
    configs.append(os.path.join(args.gin_model_dir or "", args.gin_file_name))
  for path in configs:
    if not os.path.isfile(path):
      return common.fail(prog, f"--gin_config={path}: file not found.")
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow()
  from infofrag.data.ground_truth import paths
  from infofrag.training import dlib_layout
  from infofrag.training import train
  from infofrag.utils import locks
  try:
    results = dlib_layout.train_model_folder(args.model_dir, overwrite=args.overwrite,
                                             gin_config_files=configs,
                                             gin_bindings=args.gin_bindings)
  except KeyboardInterrupt:
    return 130
  except (train.TrainingError, locks.FolderLockedError) as error:
    return common.fail(prog, str(error))
  except (paths.DatasetFileNotFoundError, ValueError, RuntimeError) as error:
    return common.fail(prog, str(error), code=1)
  print(f"{prog}: wrote {args.model_dir} ({results['elapsed_time']:.1f} s)")
  return 0


def evaluate_main(argv: Sequence[str] | None = None, *, prog: str = "dlib_evaluate") -> int:
  """dlib_evaluate: a metric of a representation into OUTPUT_DIR/results (or, with
  --gin_evaluation_config_glob, each matching config into OUTPUT_DIR/<name>/results)."""
  parser = common.dlib_parser(prog, "Evaluate a postprocessed representation (dlib's layout).")
  parser.add_argument("--input_dir", help="directory to take the representation from")
  parser.add_argument("--output_dir", help="directory to save the scores to")
  common.add_dlib_gin_arguments(parser)
  parser.add_argument("--gin_evaluation_config_glob",
                      help="glob pattern of evaluation configs (one metric each)")
  common.add_absl_bool(parser, "overwrite", "replace an existing OUTPUT_DIR")
  args = parser.parse_args(argv)
  missing = common.require_flags(prog, args, "input_dir", "output_dir")
  if missing is not None:
    return missing
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow()
  from infofrag.evaluation import evaluate_representation as evaluation
  from infofrag.utils import step_folders as folders
  from infofrag.zoo import errors
  try:
    if args.gin_evaluation_config_glob is not None:
      evaluation.evaluate_config_glob(args.input_dir, args.output_dir,
                                      args.gin_evaluation_config_glob, overwrite=args.overwrite)
    else:
      evaluation.evaluate_with_gin(args.input_dir, args.output_dir, overwrite=args.overwrite,
                                   gin_config_files=args.gin_config,
                                   gin_bindings=args.gin_bindings)
  except (folders.WorkflowError, errors.ModelLoadError, FileNotFoundError) as error:
    return common.fail(prog, str(error))
  print(f"{prog}: wrote {args.output_dir}")
  return 0


def aggregate_results_main(argv: Sequence[str] | None = None, *,
                           prog: str = "dlib_aggregate_results") -> int:
  """dlib_aggregate_results: every matching result JSON into one DataFrame JSON."""
  parser = common.dlib_parser(prog, "Aggregate result files into one JSON DataFrame (dlib's format).")
  parser.add_argument("--result_file_pattern",
                      default="output/*/metrics/*/*/results/aggregate/evaluation.json",
                      help="glob pattern of the result files")
  parser.add_argument("--output_path", default="results.json", help="the output JSON file")
  args = parser.parse_args(argv)
  from infofrag.reports import aggregate
  try:
    rows = aggregate.write_aggregate(args.result_file_pattern, args.output_path)
  except (aggregate.AggregateError, OSError) as error:
    return common.fail(prog, str(error))
  print(f"{args.output_path}: {rows} result file(s) aggregated")
  return 0


def udr_main(argv: Sequence[str] | None = None, *, prog: str = "dlib_udr") -> int:
  """dlib_udr: UDR over a group of models (dlib's model folders), by gin config."""
  parser = common.dlib_parser(prog, "Compute UDR over a group of trained models (dlib's layout).")
  parser.add_argument("--model_dirs", default="",
                      help="comma-separated list of model folders to run UDR over")
  parser.add_argument("--output_dir", help="directory to save the results to")
  common.add_dlib_gin_arguments(parser)
  parser.add_argument("--gin_evaluation_config_glob",
                      help="glob pattern of evaluation configs (one run each)")
  args = parser.parse_args(argv)
  # dlib's model folders hold tfhub/ and results/ themselves (X = D/model): infofrag's
  # readers take the folder above them.
  model_dirs = [os.path.dirname(os.path.normpath(path))
                if os.path.isdir(os.path.join(path, "tfhub")) else path
                for path in args.model_dirs.split(",") if path]
  if not model_dirs:
    return common.fail(prog, "--model_dirs is required (a comma-separated list of model folders).")
  missing = common.require_flags(prog, args, "output_dir")
  if missing is not None:
    return missing
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow()
  from infofrag.analysis import udr_group
  import glob
  runs = [(args.output_dir, list(args.gin_config), list(args.gin_bindings))]
  if args.gin_evaluation_config_glob is not None:
    configs = sorted(glob.glob(args.gin_evaluation_config_glob))
    if not configs:
      return common.fail(prog, f"--gin_evaluation_config_glob={args.gin_evaluation_config_glob}: "
                         "no gin file matches.")
    runs = []
    for config in configs:
      name = os.path.basename(config).replace(".gin", "")
      runs.append((os.path.join(args.output_dir, name), [config],
                   [f"evaluation.name = '{name}'"]))
  try:
    for output_dir, configs, bindings in runs:
      udr_group.evaluate_udr_group(model_dirs, output_dir, gin_config_files=configs,
                                   gin_bindings=bindings)
  except (ValueError, RuntimeError, FileNotFoundError) as error:
    return common.fail(prog, str(error))
  print(f"{prog}: wrote {args.output_dir}")
  return 0
