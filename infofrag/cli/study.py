"""`infofrag_study`: list dlib's unsupervised_study_v1 sweep, or one model's gin bindings.

  infofrag_study --list [--dataset dsprites_full] [--seeds 0-2] [--method beta_vae]
  infofrag_study --model_num 250     # its gin config and bindings, one per line

Train models of the study with `infofrag_train --study=... --model_nums=...`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

PROGRAM = "infofrag_study"


def build_parser() -> argparse.ArgumentParser:
  from infofrag.training import study
  parser = argparse.ArgumentParser(
      prog=PROGRAM,
      description=f"List or expand the {study.STUDY_NAME} sweep (dlib's model numbering).")
  parser.add_argument("--list", action="store_true", help="one line per model")
  parser.add_argument("--model_num", type=int, help="print this model's gin bindings")
  parser.add_argument("--dataset", help="only this dataset (e.g. dsprites_full)")
  parser.add_argument("--seeds", help="only these seeds, e.g. 0-4 or 0,7")
  parser.add_argument("--method", action="append", help="only this method (repeatable)")
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  from infofrag.training import study
  from infofrag.utils import checks
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.model_num is None and not args.list:
    parser.error("give --list or --model_num N")
  try:
    if args.model_num is not None:
      model = study.get_model(args.model_num)
      print(f"# gin config: {model.config_file}")
      print("\n".join(model.bindings))
      return 0
    seeds = checks.parse_int_ranges(args.seeds, flag="--seeds") if args.seeds else None
    models = study.list_models(args.dataset, seeds, args.method)
  except ValueError as error:
    print(f"{PROGRAM}: error: {error}", file=sys.stderr)
    return 2
  print("model_num\tdataset\tmethod\thyperparameter\tvalue\tseed")
  for model in models:
    print(f"{model.model_num}\t{model.dataset}\t{model.method}\t{model.hyperparameter}\t"
          f"{model.value}\t{model.seed}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
