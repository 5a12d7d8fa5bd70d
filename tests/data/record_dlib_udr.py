"""Records dlib's own UDR outputs for tests/test_metrics_dlib_parity.py's UDR cases.

dlib 1.5's wheel lacks UDR (its udr/ folder has no __init__.py), and CI cannot download
the file, so the parity of UDR is pinned by dlib's numbers instead: run this where the
oracle is installed (`python -m tests.helpers.dlib_oracle install-udr` from a mirror of
dlib's repository), and commit tests/data/dlib_udr_outputs.json. Numbers, not code.

    python -m tests.data.record_dlib_udr
"""

import json
import os

import numpy as np

from tests import test_metrics_dlib_parity as parity
from tests.helpers import dlib_oracle
from tests.helpers import small_data

OUTPUT = os.path.join(os.path.dirname(__file__), "dlib_udr_outputs.json")


def _jsonable(outcome):
  if isinstance(outcome, Exception):
    return {"error": f"{type(outcome).__name__}: {outcome}"}
  return {key: np.asarray(value).tolist() for key, value in outcome.items()}


def main():
  oracle = dlib_oracle.require(udr=True)
  data = small_data.SmallFactors()
  functions_of = parity.udr_groups(small_data.linear_codes(2, num_codes=6))
  recorded = {}
  for group in sorted(functions_of):
    for correlation_matrix in ("lasso", "spearman"):
      for options in sorted(parity.UDR_OPTIONS):
        kwargs = dict(batch_size=10, num_data_points=200, correlation_matrix=correlation_matrix,
                      **parity.UDR_OPTIONS[options])
        outcome = parity._attempt(lambda: oracle.udr.compute_udr_sklearn(
            data, functions_of[group], np.random.RandomState(0), **kwargs))
        recorded[f"{group}-{correlation_matrix}-{options}"] = _jsonable(outcome)
  with open(OUTPUT, "w") as f:
    json.dump(recorded, f, indent=1)
  print(f"{OUTPUT}: {len(recorded)} cases")


if __name__ == "__main__":
  main()
