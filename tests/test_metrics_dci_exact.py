"""DCI 'numpy' mode (dci_exact's numpy trees) against scikit-learn's GradientBoostingClassifier.

The small problems below have integer-valued, rounded, constant and float32-adjacent codes
and no ties between codes, so every tree must be scikit-learn's: same split codes,
thresholds and leaf values, raw scores, importances. Ties (two codes cutting a node into the
same sets) are checked where the outcome does not depend on scikit-learn's rounding.
"""

import functools

import numpy as np
import pytest
from sklearn import ensemble
from sklearn import tree as sklearn_tree

from infofrag.metrics import dci
from infofrag.metrics import dci_exact


def _integer_codes(num_points, num_classes, num_codes, seed):
  """Labels [points] and integer codes [points, codes]: the label plus noise, then
  codes of a few values loosely tied to the label's parity."""
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, num_classes, num_points)
  columns = [labels + rng.randint(-1, 2, num_points)]
  columns += [rng.randint(0, 4, num_points) + (labels % 2) * (c % 2) for c in range(1, num_codes)]
  return np.stack(columns, axis=1).astype(np.float64), labels


def _with_constant(codes, labels, seed):
  del labels, seed
  return np.insert(codes, 1, 2.5, axis=1)


def _with_float32_neighbours(codes, labels, seed):
  """Adds a code 1 + k * 2^-23 (k = label + 0 or 1): float32 neighbours 1.2e-7 apart, which
  scikit-learn never splits (in float32, 1 + 1e-7 rounds up to the next float)."""
  rng = np.random.RandomState(seed)
  ulps = labels + rng.randint(0, 2, labels.size)
  return np.concatenate([codes, (1.0 + np.float32(2.0 ** -23) * ulps)[:, None]], axis=1)


# name: (points, classes, codes, rounds, transform). With 40 classes the first round's
# residuals take 80 values, and several splits tie exactly (the same sums in the same
# order in scikit-learn): its splitter's draw order decides, which exact mode replays.
CASES = {
    "binary": (300, 2, 3, 20, None),
    "one code": (300, 3, 1, 20, None),
    "3 classes": (300, 3, 3, 20, None),
    "constant code": (300, 3, 3, 20, _with_constant),
    "float32 neighbours": (300, 3, 2, 20, _with_float32_neighbours),
    "40 classes, exact ties": (400, 40, 3, 3, None),
}


def _real_splits(fitted):
  """{heap slot: (code, threshold)} of a fitted scikit-learn regression tree's splits, in
  dci_exact's heap layout, leaving out splits of nodes whose residuals are all equal.

  Such a node has impurity 0 up to rounding, and scikit-learn splits it when that rounding
  exceeds machine epsilon (so may dci_exact, with its own rounding): a split that changes
  nothing, as both sides get the node's leaf value.
  """
  tree, splits = fitted.tree_, {}

  def walk(node, heap):
    if tree.children_left[node] == sklearn_tree._tree.TREE_LEAF or tree.impurity[node] < 1e-12:
      return
    splits[heap] = (tree.feature[node], tree.threshold[node])
    walk(tree.children_left[node], 2 * heap + 1)
    walk(tree.children_right[node], 2 * heap + 2)

  walk(0, 0)
  return splits


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_trees_as_scikit_learn(case, seed):
  num_points, num_classes, num_codes, rounds, transform = CASES[case]
  codes, labels = _integer_codes(num_points, num_classes, num_codes, seed)
  codes = transform(codes, labels, seed) if transform else codes
  codes_test, labels_test = _integer_codes(150, num_classes, num_codes, seed + 10)
  codes_test = transform(codes_test, labels_test, seed) if transform else codes_test
  reference = ensemble.GradientBoostingClassifier(n_estimators=rounds, random_state=seed)
  reference.fit(codes, labels)
  exact = dci_exact.ExactGradientBoosting(codes, labels, seed, rounds=rounds)
  assert (exact.ties["codes"] > 0) == ("ties" in case)
  # Tree by tree: the same splits (code, threshold) and the same leaf value for every
  # training and test point.
  points = {name: np.ascontiguousarray(p.astype(np.float32).T)
            for name, p in (("train", codes), ("test", codes_test))}
  for stage, (features, thresholds, values) in enumerate(exact.stages):
    for k in range(features.shape[0]):
      fitted = reference.estimators_[stage, k]
      for heap, (feature, threshold) in _real_splits(fitted).items():
        assert (features[k, heap], thresholds[k, heap]) == (feature, threshold)
      for name, columns in points.items():
        slots = dci_exact._apply(features[k:k + 1], thresholds[k:k + 1], columns)[:, 0]
        np.testing.assert_allclose(values[k, slots], fitted.predict(columns.T),
                                   rtol=1e-9, atol=1e-12)
  np.testing.assert_allclose(exact.feature_importances, reference.feature_importances_,
                             rtol=0, atol=1e-9)
  for points in (codes, codes_test):
    raw = reference.decision_function(points).reshape(points.shape[0], -1)
    np.testing.assert_allclose(exact.raw_scores(None if points is codes else points), raw,
                               rtol=0, atol=1e-9)
    np.testing.assert_array_equal(exact.predict(None if points is codes else points),
                                  reference.predict(points))
  if transform is _with_float32_neighbours:  # informative, but never split
    assert exact.feature_importances[-1] == 0.0


def test_splitter_draw_order_matches_scikit_learn_with_constant_and_identical_codes():
  # Identical codes tie at every split, so scikit-learn takes the first code its splitter
  # draws; constant codes change the draws (known constants are set aside).
  rng = np.random.RandomState(0)
  for seed in range(40):
    num_codes = rng.randint(2, 8)
    constant = rng.rand(num_codes) < 0.35
    constant[rng.randint(num_codes)] = False
    codes = np.repeat(rng.randn(150)[:, None], num_codes, axis=1)
    codes[:, constant] = 2.0
    target = rng.randn(150)
    tree = sklearn_tree.DecisionTreeRegressor(
        max_depth=3, random_state=np.random.RandomState(seed)).fit(codes, target).tree_
    draws = dci_exact._SplitterDraws(
        int(np.random.RandomState(seed).randint(0, dci_exact.RAND_R_MAX)), num_codes)

    def walk(node, known):
      if tree.children_left[node] == sklearn_tree._tree.TREE_LEAF:
        return
      visited, known = draws.visit(known, constant)
      assert tree.feature[node] == visited[0]
      walk(tree.children_left[node], known)
      walk(tree.children_right[node], known)

    walk(0, 0)


def test_identical_codes_share_scikit_learns_importance():
  # Two copies of one code cut every node identically: each tie moves the credit between
  # the copies only, so their summed importance, the other code's and the predictions are
  # scikit-learn's.
  rng = np.random.RandomState(1)
  labels = rng.randint(0, 3, 300)
  copy = 0.5 * labels + rng.randn(300)
  codes = np.stack([copy, copy, rng.randint(0, 3, 300) + labels % 2], axis=1)
  reference = ensemble.GradientBoostingClassifier(n_estimators=20, random_state=1).fit(
      codes, labels)
  exact = dci_exact.ExactGradientBoosting(codes, labels, 1, rounds=20)
  assert exact.ties["codes"] > 0
  ours, theirs = exact.feature_importances, reference.feature_importances_
  assert ours[:2].sum() == pytest.approx(theirs[:2].sum(), abs=1e-9)
  assert ours[2] == pytest.approx(theirs[2], abs=1e-9)
  np.testing.assert_allclose(exact.raw_scores(), reference.decision_function(codes),
                             rtol=0, atol=1e-9)


def test_exact_mode_equals_sklearn_mode(monkeypatch):
  # 20 rounds in both (this problem has no ties then): every DCI score equal.
  monkeypatch.setattr(dci_exact, "ROUNDS", 20)
  monkeypatch.setattr(dci.ensemble, "GradientBoostingClassifier",
                      functools.partial(ensemble.GradientBoostingClassifier, n_estimators=20))
  rng = np.random.RandomState(3)

  def sample(num):
    factors = np.stack([rng.randint(0, 2, num), rng.randint(0, 3, num),
                        rng.randint(0, 4, num)], axis=1)
    codes = np.stack([factors[:, 0] + rng.randint(0, 2, num),
                      factors[:, 1] + rng.randint(-1, 2, num),
                      2 * factors[:, 2] + rng.randint(0, 3, num),
                      rng.randint(0, 3, num), np.full(num, 0.5)], axis=1)
    return codes.astype(np.float64), factors

  codes, factors = sample(240)
  codes_test, factors_test = sample(120)
  exact = dci.compute_dci(codes, factors, codes_test, factors_test, random_state=3, n_jobs=2,
                          mode="numpy")
  reference = dci.compute_dci(codes, factors, codes_test, factors_test, random_state=3,
                              mode="sklearn")
  assert exact["mode"] == "numpy" and reference["mode"] == "sklearn"
  assert exact["tied_splits"] == 0 and "tied_splits" not in reference
  for key in ("informativeness_train", "informativeness_test", "disentanglement",
              "completeness"):
    assert exact[key] == pytest.approx(reference[key], abs=1e-9), key
  ours, _, _ = dci.importance_matrix_gbt(codes, factors, codes_test, factors_test, 3,
                                         mode="numpy")
  theirs, _, _ = dci.importance_matrix_gbt(codes, factors, codes_test, factors_test, 3,
                                           mode="sklearn")
  np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_rejects_a_single_class_and_non_finite_codes():
  with pytest.raises(ValueError, match="1 class"):
    dci_exact.ExactGradientBoosting(np.zeros((10, 2)), np.ones(10), 0)
  with pytest.raises(ValueError, match="NaN, infinity or a value too large"):
    dci_exact.ExactGradientBoosting(np.full((10, 2), 1e39), np.arange(10) % 2, 0)


@pytest.mark.slow
def test_dlib_sized_problem_within_scikit_learns_seed_band():
  # dlib's sizes (10,000 / 5,000 points, 10 codes; the 6-class scale factor of dSprites-like
  # codes). Ties leave scikit-learn's own result dependent on its seed: exact mode must be
  # as close to scikit-learn (seed 0) as scikit-learn with seed 1 is, with the same
  # accuracies to within a few points.
  rng = np.random.RandomState(0)
  rotation = np.linalg.qr(rng.randn(10, 10))[0]

  def sample(num):
    factors = np.stack([rng.randint(0, size, num) for size in (3, 6, 40, 32, 32)], axis=1)
    scaled = factors / np.array([2.0, 5.0, 39.0, 31.0, 31.0])
    codes = np.concatenate([scaled, 0.3 * rng.randn(num, 5)], axis=1) @ rotation
    return (codes + 0.05 * rng.randn(num, 10)).astype(np.float32).astype(np.float64), factors

  codes, factors = sample(10000)
  codes_test, factors_test = sample(5000)
  labels, labels_test = factors[:, 1], factors_test[:, 1]
  exact = dci_exact.ExactGradientBoosting(codes, labels, 0)
  reference = ensemble.GradientBoostingClassifier(random_state=0).fit(codes, labels)
  other_seed = ensemble.GradientBoostingClassifier(random_state=1).fit(codes, labels)
  band = np.abs(other_seed.feature_importances_ - reference.feature_importances_).max()
  difference = np.abs(exact.feature_importances - reference.feature_importances_).max()
  assert difference <= max(band, 1e-9)
  for ours, points, truth in ((exact.predict(), codes, labels),
                              (exact.predict(codes_test), codes_test, labels_test)):
    assert abs(np.mean(ours == truth) - np.mean(reference.predict(points) == truth)) <= 0.003


@pytest.mark.slow
def test_exact_mode_worker_processes_equal_serial(monkeypatch):
  # Large exact-mode problems fit their factors in worker processes (the numpy trees hold
  # the GIL too often for threads to help): same numbers as one after another. (Slow only
  # because the workers take seconds to start.)
  monkeypatch.setattr(dci, "NUMPY_PROCESSES_MIN", 0)
  codes, labels = _integer_codes(200, 3, 3, 5)
  factors = np.stack([labels, (labels + codes[:, 1].astype(int)) % 2], axis=1)
  codes_test, labels_test = _integer_codes(100, 3, 3, 6)
  factors_test = np.stack([labels_test, (labels_test + codes_test[:, 1].astype(int)) % 2], axis=1)
  serial = dci.compute_dci(codes, factors, codes_test, factors_test, random_state=4, n_jobs=1,
                           mode="numpy")
  parallel = dci.compute_dci(codes, factors, codes_test, factors_test, random_state=4, n_jobs=2,
                             mode="numpy")
  assert serial == parallel
