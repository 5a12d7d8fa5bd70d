"""The shared argument checks (infofrag.utils.checks) and gin-text readers (utils.gin_text)."""

import json
import os

import numpy as np
import pytest

from infofrag.utils import checks
from infofrag.utils import gin_text


def test_integer_checks_return_ints_and_name_the_argument():
  assert checks.check_positive_int(np.int64(3), name="steps") == 3
  assert checks.check_int_range(0, name="steps", minimum=0) == 0
  with pytest.raises(ValueError, match="num_points must be a positive integer; got 0"):
    checks.check_positive_int(0, name="num_points")
  with pytest.raises(ValueError, match=r"k must be an integer in \[2, 5\]; got 6"):
    checks.check_int_range(6, name="k", minimum=2, maximum=5)
  for bad in (True, 2.0, "2"):
    with pytest.raises(ValueError, match="must be an integer >= 1"):
      checks.check_int_range(bad, name="dim", minimum=1)


def test_error_class_can_be_a_package_error():
  class PackageError(ValueError):
    pass
  with pytest.raises(PackageError, match="model.batch_size must be a positive integer"):
    checks.check_positive_int(-1, name="model.batch_size", error=PackageError)


def test_float_and_choice_checks():
  assert checks.check_positive_float("0.5", name="learning_rate") == 0.5
  with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
    checks.check_positive_float(float("inf"), name="learning_rate")
  with pytest.raises(ValueError, match="optimizer must be one of sgd, adam; got 'rmsprop'"):
    checks.check_choice("rmsprop", name="optimizer", choices=("sgd", "adam"))


def test_posteriors_are_non_empty_finite_two_dimensional():
  mus, logvars = checks.as_posteriors(np.zeros(4), np.ones(4))
  assert mus.shape == logvars.shape == (4, 1) and mus.dtype == np.float64
  with pytest.raises(ValueError, match="at least one point"):
    checks.as_posteriors(np.zeros((0, 2)), np.zeros((0, 2)))
  with pytest.raises(ValueError, match="same shape"):
    checks.as_posteriors(np.zeros((3, 2)), np.zeros((3, 1)))
  with pytest.raises(ValueError, match="finite"):
    checks.as_posteriors(np.full((3, 1), np.nan), np.zeros((3, 1)))


def test_parse_int_ranges_names_the_flag():
  assert checks.parse_int_ranges("0-2,7", flag="--seeds") == [0, 1, 2, 7]
  assert checks.parse_int_ranges(" 0, 3 ,5", flag="--seeds") == [0, 3, 5]
  for bad in ("", "3-x", "-1", "a"):
    with pytest.raises(ValueError, match="--model_nums .*non-negative integers like 0-4"):
      checks.parse_int_ranges(bad, flag="--model_nums")


def test_gin_text_readers(tmp_path):
  assert gin_text.gin_dict("# c\nvae.beta = 4.\nx=1\n") == {"vae.beta": "4."}
  assert gin_text.split_binding(" vae.beta=16. ") == ("vae.beta", "16.")
  with pytest.raises(ValueError, match="NAME = VALUE"):
    gin_text.split_binding("vae.beta")
  assert gin_text.parse_gin_text("mlp.hidden = (256,\n    256)\n") == {"mlp.hidden": "(256, 256)"}
  with pytest.raises(FileNotFoundError, match="no training config"):
    gin_text.read_train_config(str(tmp_path))
  json_dir = tmp_path / "model" / "results" / "json"
  os.makedirs(json_dir)
  (json_dir / "train_config.json").write_text(json.dumps({"vae.beta": " 4. "}))
  assert gin_text.read_train_config(str(tmp_path)) == {"vae.beta": "4."}
