"""Tests of infofrag.fusion: fuse, its objectives, continuity, fuse_ensemble, input errors."""

import json

import numpy as np
import pytest

from infofrag import fragments
from infofrag import fusion
from infofrag.fusion import objectives
from infofrag.fusion import optimize

NUM_CIRCLE_POINTS = 200


def circle_angles(num=NUM_CIRCLE_POINTS):
  return np.linspace(0.0, 2.0 * np.pi, num, endpoint=False)


def unrolled_circle_learner(cut_angle, num=NUM_CIRCLE_POINTS, spread=6.0, variance=0.05):
  """A 1-D weak learner of the circle: the circle cut open at `cut_angle` and unrolled.

  This is what a 1-D beta-VAE on circle data learns (one tear where the angle wraps);
  returns its [N, N] fingerprint on evenly spaced angles.
  """
  position = np.mod(circle_angles(num) - cut_angle, 2.0 * np.pi) / (2.0 * np.pi) - 0.5
  return fragments.bhattacharyya_distances((spread * position)[:, None], np.full((num, 1), np.log(variance)))


@pytest.fixture(scope="module")
def circle_ensemble():
  rng = np.random.default_rng(0)
  return np.stack([unrolled_circle_learner(rng.uniform(0, 2 * np.pi)) for _ in range(10)])


@pytest.fixture(scope="module")
def planar_member():
  rng = np.random.default_rng(1)
  mus = rng.uniform(-2.0, 2.0, size=(120, 2))
  return fragments.bhattacharyya_distances(mus, np.full((120, 2), np.log(0.1)))


def test_single_member_from_2d_embedding_is_recovered(planar_member):
  # exp(-VI) is maximal (1) exactly when the fused space carries the member's information.
  result = fusion.fuse(planar_member, dim=2, objective="vi", steps=3000, seed=0)
  fused = fragments.bhattacharyya_distances(result.mus, result.logvars)
  nmi, vi = fragments.pairwise_nmi_vi(fused[None], planar_member[None])
  assert nmi[0, 0] > 0.95
  assert vi[0, 0] < 0.25  # bits
  assert fragments.information(fused) == pytest.approx(fragments.information(planar_member), abs=0.15)
  assert result.mus.shape == (120, 2) and result.logvars.shape == (120, 2)
  assert result.mus.dtype == np.float64


def test_info_objective_captures_all_of_a_single_member(planar_member):
  # Mutual information is bounded by the member's information and rewards any
  # sharper fused space, so it ends at least as informative as the member.
  result = fusion.fuse(planar_member, dim=2, objective="info", steps=1000, seed=0)
  fused = fragments.bhattacharyya_distances(result.mus, result.logvars)
  member_info = float(fragments.information(planar_member))
  assert fragments.information(fused) > member_info
  assert result.similarity == pytest.approx(member_info, abs=0.3)
  assert result.similarity <= member_info + 1e-9


def test_history_is_bits_and_matches_float64_evaluation(planar_member):
  result = fusion.fuse(planar_member, objective="info", steps=600, record_every=200, seed=3)
  assert result.history_steps.tolist() == [0, 200, 400, 600]
  # Start: nearly identical points carry almost nothing; the objective then rises.
  assert result.history[0] < 0.05
  assert result.history[-1] > result.history[0] + 1.0
  # The float32 compiled objective agrees with fragments' float64 definition (bits).
  assert result.history[-1] == pytest.approx(result.similarity, abs=2e-3)
  direct = objectives.member_similarities(result.mus, result.logvars, planar_member, "info")
  np.testing.assert_allclose(direct, result.member_similarity, rtol=1e-12)


@pytest.mark.parametrize("objective", ["info", "vi", "nmi"])
def test_compiled_objective_equals_fragments_definition(circle_ensemble, objective):
  import tensorflow as tf
  rng = np.random.default_rng(5)
  mus = rng.normal(0.0, 1.0, size=(NUM_CIRCLE_POINTS, 2))
  logvars = rng.normal(-1.0, 0.5, size=(NUM_CIRCLE_POINTS, 2))
  members = circle_ensemble[:4]
  similarity = optimize.make_similarity_fn(members, objective, tf.float64)
  compiled = similarity(tf.constant(mus), tf.constant(logvars)).numpy()
  if objective == "info":
    compiled = compiled / np.log(2.0)  # the graph works in nats
  expected = objectives.member_similarities(mus, logvars, members, objective)
  np.testing.assert_allclose(compiled, expected, rtol=1e-9, atol=1e-12)


def test_vi_similarity_uses_vi_in_nats(planar_member):
  rng = np.random.default_rng(2)
  mus, logvars = rng.normal(size=(120, 2)), np.full((120, 2), -1.0)
  fused = fragments.bhattacharyya_distances(mus, logvars)
  _, vi_bits = fragments.pairwise_nmi_vi(fused[None], planar_member[None])
  got = objectives.member_similarities(mus, logvars, planar_member, "vi")
  assert got[0] == pytest.approx(np.exp(-vi_bits[0, 0] * np.log(2.0)), rel=1e-12)


def test_fusion_of_circle_learners_beats_members_and_restores_continuity(circle_ensemble):
  small = fusion.fuse(circle_ensemble[:2], steps=1500, seed=0)
  large = fusion.fuse(circle_ensemble, steps=1500, seed=0)
  fused_info = fragments.information(fragments.bhattacharyya_distances(large.mus, large.logvars))
  assert fused_info > fragments.information(circle_ensemble).mean() + 0.5
  # Each learner tears the circle once; more learners with different tears close it.
  small_score = fusion.continuity(small.mus, small.logvars)
  large_score = fusion.continuity(large.mus, large.logvars)
  assert large_score < small_score / 2


def test_adam_and_float64_paths_run(planar_member):
  adam = fusion.fuse(planar_member, steps=300, optimizer="adam", learning_rate=0.05, seed=0)
  assert adam.history[-1] > 1.0
  exact = fusion.fuse(planar_member, steps=50, dtype="float64", jit_compile=False, seed=0)
  single = fusion.fuse(planar_member, steps=50, dtype="float32", seed=0)
  np.testing.assert_allclose(single.mus, exact.mus, atol=1e-4)


def test_fuse_is_deterministic_for_a_seed(planar_member):
  first = fusion.fuse(planar_member, steps=100, seed=7)
  second = fusion.fuse(planar_member, steps=100, seed=7)
  np.testing.assert_array_equal(first.mus, second.mus)
  other = fusion.fuse(planar_member, steps=100, seed=8)
  assert not np.allclose(first.mus, other.mus)


def test_continuity_of_even_circle_is_one_and_a_tear_raises_it():
  angles = circle_angles(100)
  mus = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 5.0
  logvars = np.full((100, 2), np.log(0.1))
  assert fusion.continuity(mus, logvars) == pytest.approx(1.0, abs=1e-9)
  # Unrolled: the closing pair last -> first spans the whole curve.
  line = np.linspace(-3, 3, 100)[:, None]
  unrolled = fusion.continuity(line, np.full((100, 1), np.log(0.1)))
  step = fragments.bhattacharyya_distances(line[:2], np.full((2, 1), np.log(0.1)))[0, 1]
  closing = fragments.bhattacharyya_distances(line[[0, -1]], np.full((2, 1), np.log(0.1)))[0, 1]
  assert unrolled == pytest.approx(closing / step, rel=1e-9)
  assert fusion.continuity(line, np.full((100, 1), np.log(0.1)), closed=False) == pytest.approx(1.0)


def test_adjacent_distances_match_full_fingerprint():
  rng = np.random.default_rng(4)
  mus, logvars = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
  full = fragments.bhattacharyya_distances(mus, logvars)
  expected = np.append(np.diag(full, k=1), full[-1, 0])
  np.testing.assert_allclose(fusion.adjacent_distances(mus, logvars), expected, rtol=1e-10)
  np.testing.assert_allclose(fusion.adjacent_distances(mus, logvars, closed=False), expected[:-1],
                             rtol=1e-10)
  assert fusion.continuity(mus, logvars, percentile=100) == pytest.approx(1.0)


def grid_ensemble(size=12):
  """Image-like ensemble: points on a size x size grid of two factors (x, y).

  Member 0 sees x sharply, member 1 sees y, member 2 sees x + y coarsely: each is a
  1-D "model" holding part of the information.
  """
  x, y = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
  x, y = x.ravel().astype(float), y.ravel().astype(float)
  views = [(x, 0.3), (y, 0.3), (x + y, 1.0)]
  members = np.stack([fragments.bhattacharyya_distances(v[:, None], np.full((v.size, 1), np.log(s)))
                      for v, s in views])
  return members, np.stack([x, y], axis=1).astype(int)


def test_fuse_ensemble_reports_more_information_than_best_member():
  members, labels = grid_ensemble()
  report = fusion.fuse_ensemble(members, labels, dim=2, steps=2000, member_names=["mx", "my", "mxy"],
                                factor_names=["x", "y"])
  json.dumps(report)  # JSON-serialisable as documented
  assert report["num_members"] == 3 and report["num_points"] == 144
  assert report["fused_information_bits"] > report["members_information_bits"]["max"]
  assert report["gain_over_best_member_bits"] > 0.5
  assert report["members_information_bits"]["per_member"]["mx"] == pytest.approx(
      float(fragments.information(members[0])))
  factors = report["factors"]
  assert factors["x"]["best_member"] == "mx" and factors["y"]["best_member"] == "my"
  # The fused space carries both factors (a specialist has NMI ~0 with the other
  # factor); holding both lowers the NMI with each below the specialist's.
  x_only = fragments.pairwise_nmi_vi(members[:1], fragments.factor_fingerprints(labels))[0][0]
  assert x_only[1] < 0.1
  for name in ("x", "y"):
    assert 0.5 < factors[name]["fused_nmi"] <= factors[name]["best_member_nmi"]
  assert set(report["nmi_with_members"]["per_member"]) == {"mx", "my", "mxy"}


def test_fuse_ensemble_channel_subset_and_no_factors():
  members, _ = grid_ensemble(8)
  report = fusion.fuse_ensemble(members, None, dim=1, steps=200, channels=[0])
  assert "factors" not in report and report["num_members"] == 1
  assert list(report["members_information_bits"]["per_member"]) == ["member0"]


@pytest.mark.parametrize("bad, message", [
    ([np.zeros((4, 4)), np.zeros((5, 5))], "same N"),
    (np.zeros((2, 4, 5)), "square"),
    (np.full((1, 3, 3), np.nan), "NaN"),
    (np.ones((1, 3, 3)), "diagonal"),
    (-np.ones((1, 3, 3)), ">= 0"),
])
def test_bad_fingerprints_are_clear_errors(bad, message):
  with pytest.raises(ValueError, match=message):
    fusion.fuse(bad, steps=1)


def test_bad_arguments_are_clear_errors(planar_member):
  with pytest.raises(ValueError, match="dim must be an integer >= 1"):
    fusion.fuse(planar_member, dim=0, steps=1)
  with pytest.raises(ValueError, match="objective must be one of info, vi, nmi"):
    fusion.fuse(planar_member, objective="kl", steps=1)
  with pytest.raises(ValueError, match="optimizer"):
    fusion.fuse(planar_member, optimizer="rmsprop", steps=1)
  with pytest.raises(ValueError, match="learning_rate"):
    fusion.fuse(planar_member, learning_rate=-1.0, steps=1)
  with pytest.raises(ValueError, match="factor_labels must be"):
    fusion.fuse_ensemble(planar_member, np.zeros((5, 1), int), steps=1)
  with pytest.raises(ValueError, match="member_names"):
    fusion.fuse_ensemble(planar_member, member_names=["a", "b"], steps=1)
  with pytest.raises(ValueError, match="percentile"):
    fusion.continuity(np.zeros((3, 1)), np.zeros((3, 1)), percentile=0)
