"""Ensemble structure (hotspots) and its figure."""

import json
import os

import numpy as np
import pytest

from infofrag import fragments


def _ensemble(num_models=22, num_points=150, seed=0):
  """Models with a channel for factor x, one for factor y and one dead channel.

  Returns fingerprints [3 M, N, N], ids (model, channel), labels [N, 2].
  """
  rng = np.random.default_rng(seed)
  labels = np.stack([rng.integers(0, 5, num_points), rng.integers(0, 8, num_points)], axis=1)
  mus, logvars, ids = [], [], []
  for model in range(num_models):
    order = rng.permutation(3)  # channels come in a different order per model
    columns = [labels[:, 0] + 0.1 * rng.normal(size=num_points),
               labels[:, 1] + 0.1 * rng.normal(size=num_points),
               1e-3 * rng.normal(size=num_points)]
    column_logvars = [np.full(num_points, -3.0), np.full(num_points, -3.0), np.zeros(num_points)]
    for channel, source in enumerate(order):
      mus.append(columns[source])
      logvars.append(column_logvars[source])
      ids.append((f"model{model}", channel, ["x", "y", "dead"][source]))
  prints = fragments.channel_fingerprints(np.stack(mus, 1), np.stack(logvars, 1))
  return prints, ids, labels


@pytest.fixture(scope="module")
def ensemble():
  return _ensemble()


def test_hotspots_are_the_repeated_channels_and_dead_channels_are_dropped(ensemble):
  prints, ids, _ = ensemble
  structure = fragments.ensemble_structure(prints, ids, distance="vi")
  assert sorted(structure.dropped) == sorted(i for i in ids if i[2] == "dead")
  assert len(structure.ordering) == len(ids) - len(structure.dropped)
  assert structure.min_samples == 20
  assert len(structure.hotspots) == 2
  found = sorted({member[2] for member in h.members} for h in structure.hotspots)
  assert found == [{"x"}, {"y"}]
  for hotspot in structure.hotspots:
    assert hotspot.size == 22
    assert hotspot.mean_nmi > 0.9
    members = hotspot.indices
    assert hotspot.information_bits == pytest.approx(structure.information_bits[members].mean())
  labels = structure.hotspot_labels()
  assert all(labels[i] == -2 for i, ident in enumerate(ids) if ident[2] == "dead")
  assert np.isinf(structure.reachability[0])


def test_nmi_distance_and_precomputed_matrices_give_the_same_hotspots(ensemble):
  prints, ids, _ = ensemble
  terms = fragments.pairwise_information_terms(prints)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  from_matrices = fragments.structure_from_matrices(nmi, vi, terms.info_a, ids, distance="nmi")
  from_prints = fragments.ensemble_structure(prints, ids, distance="nmi")
  via_keywords = fragments.ensemble_structure(None, ids, distance="nmi", nmi=nmi, vi=vi,
                                              information_bits=terms.info_a)
  np.testing.assert_array_equal(from_matrices.ordering, from_prints.ordering)
  np.testing.assert_array_equal(from_matrices.labels, via_keywords.labels)
  assert [h.members for h in from_matrices.hotspots] == [h.members for h in from_prints.hotspots]
  assert len(from_matrices.hotspots) == 2


def test_lazy_fingerprints_from_encoder_outputs_give_the_same_structure():
  rng = np.random.default_rng(5)
  labels = rng.integers(0, 4, 120)
  mus = labels[:, None] + 0.1 * rng.normal(size=(120, 24))
  logvars = np.full(mus.shape, -3.0)
  ids = [f"c{k}" for k in range(24)]
  lazy = fragments.ensemble_structure(fragments.LazyFingerprints(mus, logvars), ids, min_samples=5)
  eager = fragments.ensemble_structure(fragments.channel_fingerprints(mus, logvars), ids, min_samples=5)
  np.testing.assert_allclose(lazy.nmi, eager.nmi, atol=1e-12)
  np.testing.assert_array_equal(lazy.labels, eager.labels)
  assert len(lazy.hotspots) == 1 and lazy.hotspots[0].size == 24


def test_optics_distances_follow_the_paper():
  nmi = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 1.2], [0.0, 1.2, 1.0]])
  vi = np.array([[0.0, -1e-9, 2.0], [-1e-9, 0.0, 1.0], [2.0, 1.0, 0.0]])
  floor = 1e-12  # off the diagonal, so that exact copies keep OPTICS' ratios finite
  expected_vi = np.maximum(vi, floor)
  np.fill_diagonal(expected_vi, 0.0)
  np.testing.assert_allclose(fragments.optics_distances(nmi, vi, "vi"), expected_vi)
  expected = np.maximum(-np.log(np.clip(nmi, 1e-4, 1.0)), floor)
  np.fill_diagonal(expected, 0.0)
  np.testing.assert_allclose(fragments.optics_distances(nmi, vi, "nmi"), expected)


@pytest.mark.parametrize("distance", ["vi", "nmi"])
def test_exact_copies_of_a_channel_form_a_hotspot(distance):
  # Three copies of one channel (NMI exactly 1, VI exactly 0) among unrelated channels.
  k = 7
  rng = np.random.default_rng(1)
  nmi = 0.05 + 0.1 * rng.random((k, k))
  nmi = (nmi + nmi.T) / 2
  nmi[:3, :3] = 1.0
  np.fill_diagonal(nmi, 1.0)
  vi = 3.0 * (1 - nmi)
  structure = fragments.structure_from_matrices(nmi, vi, np.ones(k), distance=distance,
                                                min_samples=2)
  assert [0, 1, 2] in [sorted(h.members) for h in structure.hotspots]


def test_small_ensembles_clip_min_samples_and_summary_is_json(ensemble):
  prints, ids, _ = ensemble
  structure = fragments.ensemble_structure(prints[:9], ids[:9], min_samples=20)
  assert structure.min_samples == 6  # 9 channels minus 3 dead ones
  text = json.dumps(structure.to_dict())
  assert json.loads(text)["min_samples"] == 6


def test_invalid_arguments_are_explained():
  with pytest.raises(ValueError, match="distance must be one of"):
    fragments.structure_from_matrices(np.eye(2), np.zeros((2, 2)), [1.0, 1.0], distance="kl")
  with pytest.raises(ValueError, match="channel_ids has 3 entries"):
    fragments.structure_from_matrices(np.eye(2), np.zeros((2, 2)), [1.0, 1.0], channel_ids=[1, 2, 3])
  with pytest.raises(ValueError, match="Give either fingerprints"):
    fragments.ensemble_structure(None, None)


def test_structure_figure_is_written_atomically_as_png(ensemble, tmp_path):
  prints, ids, labels = ensemble
  structure = fragments.ensemble_structure(prints, ids)
  factor_nmi, _ = fragments.pairwise_nmi_vi(prints, fragments.factor_fingerprints(labels))
  for display in ("vi", "nmi"):
    path = fragments.plot_structure(structure, tmp_path / f"structure_{display}.png", factor_nmi=factor_nmi,
                                    factor_names=["x", "y"], display=display, title="test ensemble")
    with open(path, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 5000
  assert sorted(os.listdir(tmp_path)) == ["structure_nmi.png", "structure_vi.png"]
  with pytest.raises(ValueError, match=r"factor_nmi must be \[M, F\]"):
    fragments.plot_structure(structure, tmp_path / "bad.png", factor_nmi=factor_nmi[:3])
  assert not (tmp_path / "bad.png").exists()


def test_hotspot_best_factor_is_the_highest_mean_nmi_in_table_and_figure(tmp_path, monkeypatch):
  # Two hotspots of 4 channels. In hotspot 0, three channels lean slightly to
  # factor "a" but one carries "b" strongly: a majority vote says "a", the mean
  # NMI says "b". Table and figure must both say "b".
  k = 8
  block = np.kron(np.eye(2), np.ones((k // 2, k // 2)))
  nmi = 0.05 + 0.9 * block + 0.01 * np.random.default_rng(0).random((k, k))
  nmi = (nmi + nmi.T) / 2
  np.fill_diagonal(nmi, 1.0)
  vi = 2 * (1 - nmi)
  np.fill_diagonal(vi, 0.0)
  ids = [f"c{i}" for i in range(k)]
  structure = fragments.structure_from_matrices(nmi, vi, np.ones(k), ids, min_samples=2)
  assert [sorted(h.members) for h in structure.hotspots] == [ids[:4], ids[4:]]
  factor_nmi = np.array([[0.30, 0.25], [0.30, 0.25], [0.30, 0.25], [0.0, 0.9],
                         [0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0]])
  means = fragments.hotspot_factor_nmi(structure, factor_nmi)
  np.testing.assert_allclose(means, [[0.225, 0.4125], [0.1, 0.0]])
  from matplotlib import axes
  annotations = []
  original_text = axes.Axes.text
  def recording_text(self, x, y, text, *args, **kwargs):
    annotations.append(text)
    return original_text(self, x, y, text, *args, **kwargs)
  monkeypatch.setattr(axes.Axes, "text", recording_text)
  fragments.plot_structure(structure, tmp_path / "s.png", factor_nmi=factor_nmi, factor_names=["a", "b"])
  assert annotations == ["0: b", "1: a"]
  with pytest.raises(ValueError, match=r"factor_nmi must be \[K, F\]"):
    fragments.hotspot_factor_nmi(structure, factor_nmi[:5])
