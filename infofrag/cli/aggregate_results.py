"""`infofrag_aggregate_results`: dlib's `dlib_aggregate_results`, same flags and output.

    infofrag_aggregate_results \
        --result_file_pattern='zoo/*/metrics/*/*/results/aggregate/evaluation.json' \
        --output_path=results.json

One pandas DataFrame (one row per result file, dlib's namespaced keys plus ``path``) as
JSON: ``pandas.read_json("results.json", orient="columns")`` reads it back. Works on the
trees dlib and infofrag write alike.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

PROGRAM = "infofrag_aggregate_results"


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog=PROGRAM, description="Aggregate result JSON files "
                                                             "into one DataFrame JSON (dlib's "
                                                             "aggregate_results).")
  parser.add_argument("--result_file_pattern", required=True,
                      help="glob of result files, e.g. "
                           "'zoo/*/metrics/*/*/results/aggregate/evaluation.json'")
  parser.add_argument("--output_path", required=True, help="the aggregated JSON file")
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  from infofrag.reports import aggregate
  try:
    rows = aggregate.write_aggregate(args.result_file_pattern, args.output_path)
  except (aggregate.AggregateError, OSError) as error:
    print(f"{PROGRAM}: error: {error}", file=sys.stderr)
    return 2
  print(f"{args.output_path}: {rows} result file(s) aggregated")
  return 0


if __name__ == "__main__":
  sys.exit(main())
