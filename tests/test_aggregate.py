"""infofrag_aggregate_results: dlib's aggregate DataFrame of a result tree."""

import json
import os

import pandas as pd
import pytest

from infofrag.cli import aggregate_results
from infofrag.utils import results as results_lib


def _result_tree(root, model, mig):
  results_dir = os.path.join(root, str(model), "metrics", "mean", "mig", "results")
  results_lib.update_result_directory(results_dir, "evaluation", {"discrete_mig": mig},
                                      operative_config="mig.num_train = 100\n")
  return os.path.join(results_dir, "aggregate", "evaluation.json")


def test_the_aggregate_reads_back_as_dlibs_dataframe(tmp_path):
  paths = [_result_tree(tmp_path, model, mig) for model, mig in ((0, 0.1), (1, 0.3))]
  out = tmp_path / "all.json"
  assert aggregate_results.main([
      f"--result_file_pattern={tmp_path}/*/metrics/*/*/results/aggregate/evaluation.json",
      f"--output_path={out}"]) == 0
  frame = pd.read_json(out, orient="columns")
  assert sorted(frame["path"]) == sorted(paths)
  assert sorted(frame["evaluation_results.discrete_mig"]) == pytest.approx([0.1, 0.3])
  assert "evaluation_config.mig.num_train" in frame.columns
  with open(out) as f:
    assert set(json.load(f)) == set(frame.columns)  # orient "columns", as dlib writes it


def test_no_match_is_a_one_line_error(tmp_path, capsys):
  assert aggregate_results.main([f"--result_file_pattern={tmp_path}/*.json",
                                 f"--output_path={tmp_path / 'x.json'}"]) == 2
  assert "no file matches" in capsys.readouterr().err
  assert not os.path.exists(tmp_path / "x.json")
