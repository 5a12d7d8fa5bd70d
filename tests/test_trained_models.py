"""Round trips through real infofrag-trained models: train -> evaluate -> read back,
and the channel measures of a quick-trained model (issue: fragments on trained models)."""

import json
import os

import numpy as np
import pytest

from infofrag import fragments
from infofrag.cli import evaluate as evaluate_cli
from infofrag.data import named_data
from infofrag.training import train
from infofrag.utils import paths
from infofrag.zoo import saved_model


def _train(model_dir, bindings):
  train.train_with_gin(model_dir, gin_config_files=[paths.gin_config_path("quick", "vae.gin")],
                       gin_bindings=bindings, options=train.LoopOptions(progress=False))
  return model_dir


def test_train_evaluate_and_read_back(tmp_path, capsys):
  model_dir = _train(str(tmp_path / "0"), ["model.training_steps = 4", "model.batch_size = 8"])
  code = evaluate_cli.main([f"--model_dir={model_dir}", "--metrics=mig,sap",
                            "--gin_bindings=mig.num_train = 200",
                            "--gin_bindings=sap_score.num_train = 200",
                            "--gin_bindings=sap_score.num_test = 100"])
  assert code == 0
  table = capsys.readouterr().out
  assert "| 0 | synthetic_dsprites | beta_vae |" in table
  for metric, key in [("mig", "discrete_mig"), ("sap_score", "SAP_score")]:
    path = os.path.join(model_dir, "metrics", "mean", metric, "results", "json",
                        "evaluation_results.json")
    with open(path) as f:
      value = json.load(f)[key]
    assert 0.0 <= value <= 1.0
    assert f"{value:.3f}" in table


@pytest.mark.slow
def test_quick_model_has_a_channel_carrying_one_factor(tmp_path):
  """A quick-trained beta-VAE: some channel shares much more information with one
  synthetic_dsprites factor than with any other, far above an untrained encoder."""
  trained = saved_model.load_model(_train(str(tmp_path / "trained"), ["vae.beta = 8."]))
  untrained = saved_model.load_model(_train(str(tmp_path / "untrained"),
                                            ["vae.beta = 8.", "model.training_steps = 1"]))
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  factors, images = data.sample(1000, np.random.RandomState(0))
  factor_fps = fragments.factor_fingerprints(factors)
  best = {}
  for name, model in [("trained", trained), ("untrained", untrained)]:
    mean, logvar = model.encode(images)
    channels = fragments.LazyFingerprints(mean.astype(np.float64), logvar.astype(np.float64))
    information = fragments.information(channels)
    nmi, _ = fragments.pairwise_nmi_vi(channels, factor_fps)
    nmi[information <= 0.01] = 0.0  # inactive channels carry nothing
    best[name] = nmi
  channel, factor = np.unravel_index(np.argmax(best["trained"]), best["trained"].shape)
  top = best["trained"][channel, factor]
  others = np.delete(best["trained"][channel], factor)
  print(f"best channel {channel}: NMI {top:.3f} with {data.factor_names[factor]}; "
        f"next factor {others.max():.3f}; untrained best {best['untrained'].max():.3f}")
  assert data.factor_names[factor] in ("pos_x", "pos_y")
  assert top > 0.3
  assert top > 1.5 * others.max()
  assert top > 3 * best["untrained"].max()
