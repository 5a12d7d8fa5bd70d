"""`infofrag_export_embeddings`: embedding bundles of models infofrag can run.

    infofrag_export_embeddings --zoo=ZOO --points=points.npz --output_zoo=BUNDLES

writes BUNDLES/<name>/embeddings.npz for each model of ZOO (SavedModels, dlib TF1 modules,
ONNX encoders): its posterior on every point of the `infofrag_sample` file, with the
model's method, hyperparameter, seed and dataset. A zoo is then shared as kilobytes per
model, and `infofrag_evaluate --zoo=BUNDLES` gives the same tables without the encoders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from infofrag.cli import common

PROGRAM = "infofrag_export_embeddings"


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog=PROGRAM, description="Write an embedding bundle per "
                                                             "model on the points of a points "
                                                             "file.")
  parser.add_argument("--model_dir", action="append", default=[],
                      help="a model directory (repeatable)")
  common.add_zoo_argument(parser, help_text="zoo root: every ROOT/<n>/ model")
  parser.add_argument("--points", required=True, metavar="FILE",
                      help="points file written by infofrag_sample")
  parser.add_argument("--output_zoo", required=True, metavar="ROOT",
                      help="where ROOT/<name>/embeddings.npz go")
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=False)
  import numpy as np
  from infofrag.zoo import loading as models_lib
  from infofrag.zoo import bundle as bundle_lib
  from infofrag.zoo import saved_model
  import infofrag
  try:
    with np.load(args.points, allow_pickle=False) as stored:
      observations, indices = stored["observations"], stored["indices"]
      points_meta = json.loads(str(stored["metadata"]))
    model_dirs = models_lib.find_models(zoo=args.zoo, patterns=args.model_dir)
    if not model_dirs:
      raise ValueError("no model directories given or found (use --model_dir or --zoo).")
  except (OSError, KeyError, ValueError) as error:
    print(f"{PROGRAM}: error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
    return 2
  infos, failures = models_lib.read_models(model_dirs)
  for info in infos:
    try:
      if info.dataset != points_meta["dataset"]:
        raise ValueError(f"its dataset {info.dataset!r} is not the points' "
                         f"{points_meta['dataset']!r}")
      model = saved_model.load_model(info.model_dir)
      model.check_observation_shape(observations.shape[1:])
      mean, logvar = model.encode(observations)
      short = info.hyperparameter.rsplit(".", 1)[-1] if info.hyperparameter else None
      path = bundle_lib.write_bundle(
          os.path.join(args.output_zoo, info.name.replace("/", "_"), bundle_lib.BUNDLE_FILE),
          mean=mean, spread=logvar, indices=indices,
          metadata={"dataset": info.dataset, "convention": "logvar",
                    "method": info.method_label,
                    "hyperparameters": {short: info.hyperparameter_value} if short else {},
                    "seed": info.seed, "factor_names": points_meta.get("factor_names"),
                    "framework": f"infofrag {infofrag.__version__} ({info.source})"})
      print(path)
    except (ValueError, saved_model.ModelLoadError, OSError) as error:
      failures.append(models_lib.ModelFailure(info.model_dir,
                                              str(error).strip().splitlines()[0]))
  for failure in failures:
    print(f"FAILED {failure.model_dir}: {failure.reason}", file=sys.stderr)
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
