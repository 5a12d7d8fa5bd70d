"""scikit-learn's GradientBoostingClassifier fit, as dlib calls it, rebuilt in numpy.

dlib's DCI fits `GradientBoostingClassifier()` at its defaults: log loss, prior init, 100
rounds, learning rate 0.1, per round one depth-3 squared-error regression tree per class
(one in all for two classes) fit to the residual, Newton leaf values, codes cast to
float32. `ExactGradientBoosting` grows the same trees (split codes, thresholds, leaf
values), hence the same `feature_importances_` and predictions, without scikit-learn's
per-node sorting:

- the codes never change, so each is sorted once; a node keeps its points in every code's
  order, and a split cuts each of those orders in two without sorting (a boolean gather
  and `flatnonzero`, the order kept);
- a node's best split for every code is one running sum over its residuals in that
  code's order (two codes per complex number, which halves numpy's sequential cumsum),
  squared and weighted by 1 / (nL nR);
- scikit-learn breaks exact ties between codes by the order in which its splitter draws
  the codes from the tree's random state; when codes tie, that draw is replayed exactly
  (same seed per tree, same xorshift generator, same bookkeeping of constant codes).

What is matched (scikit-learn 1.9; earlier 1.x versions choose the same splits):
- init: class priors clipped to [eps, 1 - eps]; raw scores log(p / gmean(p)) (binary:
  logit(p1)); each round's residual y - softmax(raw) (binary: y - expit(raw));
- a code is split only between consecutive values of the node's points that differ by
  more than 1e-7 in float32 arithmetic; threshold = the midpoint, in float64;
- a node is a leaf at depth 3, with fewer than 2 points, with impurity <= machine epsilon,
  or when no code can split it;
- split score: the squared-error decrease d^2 / (nL nR), d = n sL - nL T; scikit-learn
  maximises sL^2/nL + sR^2/nR = (d^2 / (nL nR) + T^2) / n, which orders splits the same;
- leaf value: mean(residual) / mean(p (1 - p)), times (K - 1) / K for K > 2 classes,
  0 when the denominator is below 1e-150; raw score += 0.1 * leaf value;
- feature_importances_: per tree with a split, the sum per code of n impurity -
  nL impurity_L - nR impurity_R over its splits, divided by the number of points;
  averaged over those trees and normalised to sum 1.

Sums are not formed in scikit-learn's order (nor its exp evaluated by the same library),
so two scores equal in exact arithmetic may come out in either order there. That happens
when two codes cut a node into the same two sets (usually a node of a few points split
off an outlier): the trees then fit the training points identically, but the split's
decrease is credited to one code or the other. In many-class factors' first rounds, whose
residuals take few values, two codes' different cuts can also score exactly the same;
the trees then part from there. Such ties (scores within TIE_RTOL) are broken as
scikit-learn breaks exact ones, by its draw order, and counted in
`ExactGradientBoosting.ties`; `benchmarks/dci_exact.py` reports them and the differences
they make.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.special
import scipy.stats

ROUNDS = 100
LEARNING_RATE = 0.1
MAX_DEPTH = 3
# No split between two float32 values of a code closer than this (scikit-learn's
# FEATURE_THRESHOLD, added to a value in float32).
FEATURE_THRESHOLD = np.float32(1e-7)
# A node with impurity at or below this is a leaf (scikit-learn's tree EPSILON).
EPSILON = np.finfo(np.float64).eps
# scikit-learn's rand_r: a tree's seed is randint(0, RAND_R_MAX); draws are modulo 2^31.
RAND_R_MAX = 0x7FFFFFFF
# Split scores within this fraction of the best one are ties, broken by the draw order.
TIE_RTOL = 1e-11
# Codes with more than this fraction of their points next to an equal or nearly equal
# value (e.g. rounded codes) have their forbidden split positions masked before each
# search; for the others only the best position is checked (and searched again).
DENSE_CLOSE = 0.2
_MAX_RECHECKS = 4
# A best split whose score is at most this fraction of the node's impurity only splits
# rounding noise (a node of equal residuals): its ties are not counted.
_NOISE = 1e-10
# Nodes with at least this many points sum two codes per complex number (_scores).
_PACK_MIN = 2048
_SPLITS = 2 ** MAX_DEPTH - 1  # split slots of a depth-3 tree in heap order
_LEAVES = 2 ** MAX_DEPTH
# Depth-first (left before right) rank of each split slot: scikit-learn's builder order.
_PREORDER = {0: 0, 1: 1, 3: 2, 4: 3, 2: 4, 5: 5, 6: 6}


def _leaf_slot(heap: int) -> int:
  """Leaf slot [0, 8) standing for heap node `heap`: its leftmost depth-3 descendant."""
  while heap < _SPLITS:
    heap = 2 * heap + 1
  return heap - _SPLITS


class _SortedCodes:
  """The training codes sorted once, and buffers reused by every node of every tree.

  Attributes
  ----------
  codes : float32 [codes, points]
    One row per code.
  order : int64 [codes, points]
    order[g] = the points sorted by code g (stable).
  rank : int64 [codes, points]
    rank[g, i] = position of point i in order[g].
  reach : int64 [codes, points]
    reach[g, r] = the last rank whose value is within FEATURE_THRESHOLD (float32
    arithmetic) of the value at rank r: no split between ranks r and reach[g, r].
  close_sparse : bool [codes, points]
    Whether point i has a later close neighbour in code g (reach[g, rank[g, i]] > rank),
    for sparse codes g (False for dense ones, masked before every search).
  dense, sparse : int64 arrays
    Codes with more / less than DENSE_CLOSE of their points close to the next.
  """

  def __init__(self, codes32: np.ndarray):
    """From float32 codes [points, codes]."""
    self.codes = np.ascontiguousarray(codes32.T)
    num_codes, num_points = self.codes.shape
    self.order = np.argsort(self.codes, axis=1, kind="stable")
    values = np.take_along_axis(self.codes, self.order, axis=1)
    self.rank = np.empty_like(self.order)
    np.put_along_axis(self.rank, self.order, np.arange(num_points)[None, :], axis=1)
    limit = values + FEATURE_THRESHOLD  # float32 arithmetic, as the splitter's
    self.reach = np.stack([np.searchsorted(values[g], limit[g], side="right") - 1
                           for g in range(num_codes)])
    close = self.reach > np.arange(num_points)
    dense = close.mean(axis=1) > DENSE_CLOSE
    self.dense, self.sparse = np.flatnonzero(dense), np.flatnonzero(~dense)
    # close_sparse[g, i]: point i has a close next value in code g, a sparse code.
    self.close_sparse = np.take_along_axis(close, self.rank, axis=1) & ~dense[:, None]
    self.left_counts = np.arange(1, num_points + 1, dtype=np.float64)
    # Buffers: the complex running sums (two codes each), the scores, and the points and
    # residuals of the nodes of depth 0, 1 and 2 in every code's order.
    half = (num_codes + 1) // 2
    self.packed = np.zeros(half * num_points, dtype=np.complex128)
    self.scores = np.empty(2 * half * num_points)
    self.node_ids = [self.order] + [np.empty(num_codes * num_points, dtype=np.int64)
                                    for _ in range(MAX_DEPTH - 1)]
    self.node_residual = [np.empty(num_codes * num_points) for _ in range(MAX_DEPTH)]
    self.goes_left = np.empty(num_points, dtype=bool)


def _rand_r(state: list) -> int:
  """scikit-learn's our_rand_r: xorshift on a uint32 state (state[0], updated)."""
  seed = state[0] or 1
  seed ^= (seed << 13) & 0xFFFFFFFF
  seed ^= seed >> 17
  seed ^= (seed << 5) & 0xFFFFFFFF
  state[0] = seed
  return seed % (RAND_R_MAX + 1)


class _SplitterDraws:
  """Replays the order in which scikit-learn's best splitter visits the codes at a node.

  Per tree, the splitter keeps a rand_r state and two arrays (`features`,
  `constant_features`) that it permutes in place node after node, depth first and left
  before right. A node's visiting order depends on all of that and on which codes are
  constant at each earlier node, so every earlier splitting node is replayed.
  """

  def __init__(self, seed: int, num_codes: int):
    self.state = [seed]
    self.features = list(range(num_codes))
    self.constant_features = [0] * num_codes

  def visit(self, known: int, constant: np.ndarray) -> tuple[list[int], int]:
    """One node's draws: (its non-constant codes in visiting order, the number of codes
    known to be constant after it).

    known: the number of codes known to be constant from the ancestors (kept at the
    front of `features`); constant: bool [codes], the codes constant at this node.
    """
    features, num_codes = self.features, len(self.features)
    f_i, drawn, found, total = num_codes, 0, 0, known
    visited, num_visited = [], 0
    while f_i > total and (num_visited < num_codes or num_visited <= found + drawn):
      num_visited += 1
      f_j = drawn + _rand_r(self.state) % (f_i - found - drawn)
      if f_j < known:  # a code known to be constant: set aside
        features[drawn], features[f_j] = features[f_j], features[drawn]
        drawn += 1
        continue
      f_j += found
      if constant[features[f_j]]:  # newly found constant
        features[f_j], features[total] = features[total], features[f_j]
        found += 1
        total += 1
        continue
      f_i -= 1
      features[f_i], features[f_j] = features[f_j], features[f_i]
      visited.append(features[f_i])
    features[:known] = self.constant_features[:known]
    self.constant_features[known:known + found] = features[known:known + found]
    return visited, total


class _Node:
  """A node of the tree being grown: its points and residuals in every code's order.

  ids int64 [codes, n] (row g sorted by code g), residual float64 [codes, n] (same
  layout); total and squares: sum and sum of squares of the residuals.
  """

  __slots__ = ("heap", "ids", "residual", "total", "squares", "count")

  def __init__(self, heap, ids, residual, total, squares):
    self.heap, self.ids, self.residual = heap, ids, residual
    self.total, self.squares, self.count = total, squares, ids.shape[1]

  @property
  def impurity(self) -> float:
    """Mean squared deviation of the residuals (scikit-learn's MSE node impurity)."""
    return _impurity(self.count, self.total, self.squares)


def _impurity(count: int, total: float, squares: float) -> float:
  return squares / count - (total / count) ** 2.0


class _TreeGrower:
  """Grows one depth-3 regression tree on one round's residual of one class.

  After `grow`: feature int64 [7] and threshold float64 [7] in heap layout (threshold
  +inf where a slot does not split, sending every point left), slots int64 [points] (the
  leaf of each training point, 0..7), gain float64 [codes] (n times impurity decrease
  summed per code), split (whether the root split).
  """

  def __init__(self, codes: _SortedCodes, seed: int, ties: dict):
    self.codes = codes
    self.num_codes, self.num_points = codes.order.shape
    self.seed = seed
    self.ties = ties
    # Nodes the splitter is called on, by heap slot: (parent slot, first and last point
    # in each code's order), for replaying the splitter's draws after a tie.
    self.log: dict[int, tuple[int, np.ndarray]] = {}
    self.feature = np.zeros(_SPLITS, dtype=np.int64)
    self.threshold = np.full(_SPLITS, np.inf)
    self.gain = np.zeros(self.num_codes)
    self.slots = np.empty(self.num_points, dtype=np.int64)
    self.split = False
    self.rows = np.arange(self.num_codes)

  # -- the splitter's draw order -----------------------------------------------------

  @staticmethod
  def _splits(node: _Node, depth: int) -> bool:
    """Whether scikit-learn's builder calls the splitter on the node."""
    return depth < MAX_DEPTH and node.count >= 2 and node.impurity > EPSILON

  def _log(self, node: _Node, parent: _Node | None) -> None:
    self.log[node.heap] = (-1 if parent is None else parent.heap, node.ids[:, [0, -1]])

  def _visiting_order(self, heap: int) -> list[int]:
    """The order in which scikit-learn's splitter visits the codes at node `heap`,
    replaying its draws at every earlier splitting node (all logged by then)."""
    draws = _SplitterDraws(self.seed, self.num_codes)
    known_after = {}
    codes = np.arange(self.num_codes)
    for slot in sorted(self.log, key=_PREORDER.__getitem__):
      if _PREORDER[slot] > _PREORDER[heap]:
        break
      parent, ends = self.log[slot]
      values = self.codes.codes
      constant = (values[codes, ends[:, 1]]
                  <= values[codes, ends[:, 0]] + FEATURE_THRESHOLD)
      visited, known_after[slot] = draws.visit(known_after.get(parent, 0), constant)
    return visited

  # -- split search ----------------------------------------------------------------------

  def _scores(self, node: _Node) -> np.ndarray:
    """Split scores [codes, n] (a view of a shared buffer): scores[g, p] = d^2 / (nL nR)
    / n^2 for the first p + 1 points in code g's order on the left; -inf where the split
    is not allowed (at p = n - 1, nothing on the right; forbidden positions of dense
    codes)."""
    count, num_codes = node.count, self.num_codes
    size = num_codes * count
    scores = self.codes.scores[:size].reshape(num_codes, count)
    mean = node.total / count
    if count < _PACK_MIN:
      np.subtract(node.residual, mean, out=scores)
      running = self.codes.scores[:size]
      np.cumsum(running, out=running)  # one pass over all codes: each row's sum is ~0
      self._restart_rows(scores)
      scores *= scores
    else:
      # Two codes per complex number: numpy's cumsum adds one element after the other, and
      # a complex pair halves the steps (worth it on large nodes only).
      half = (num_codes + 1) // 2
      packed = self.codes.packed[:half * count]
      pairs = packed.view(np.float64).reshape(half, count, 2)
      np.subtract(node.residual[0::2], mean, out=pairs[:, :, 0])
      np.subtract(node.residual[1::2], mean, out=pairs[:num_codes // 2, :, 1])
      if num_codes % 2:
        pairs[-1, :, 1] = 0.0
      np.cumsum(packed, out=packed)
      self._restart_rows(packed.reshape(half, count))
      unpaired = pairs.transpose(0, 2, 1)
      squares = self.codes.scores[:2 * half * count].reshape(half, 2, count)
      np.multiply(unpaired, unpaired, out=squares)
    left = self.codes.left_counts[:count]
    weight = left * (count - left)
    weight[-1] = 1.0
    np.divide(1.0, weight, out=weight)
    scores *= weight  # (sL - nL mean)^2 / (nL nR) = d^2 / (nL nR) / n^2
    scores[:, -1] = -np.inf
    if self.codes.dense.size:
      self._mask_forbidden(node, scores, self.codes.dense)
    return scores

  @staticmethod
  def _restart_rows(running: np.ndarray) -> None:
    """Makes a running sum over the rows of `running` [rows, n] (in order) restart at each
    row: subtracts from each row the previous rows' total (~0: the rows are centred)."""
    carried = running[:-1, -1].copy()
    running[1:] -= carried[:, None]

  def _forbidden(self, node: _Node, codes: np.ndarray) -> np.ndarray:
    """bool [len(codes), n - 1]: whether the split after each position of each code is
    forbidden (the next point in that code's order has an equal or near value)."""
    ranks = np.take_along_axis(self.codes.rank[codes], node.ids[codes], axis=1)
    limit = np.take_along_axis(self.codes.reach[codes], ranks[:, :-1], axis=1)
    return ranks[:, 1:] <= limit

  def _mask_forbidden(self, node: _Node, scores: np.ndarray, codes: np.ndarray) -> None:
    """Sets the scores of the given codes' forbidden split positions to -inf."""
    rows, positions = np.nonzero(self._forbidden(node, codes))
    scores[codes[rows], positions] = -np.inf

  def _forbidden_at(self, node: _Node, codes: np.ndarray, positions: np.ndarray
                    ) -> np.ndarray:
    """bool [k]: whether the split after positions[i] of codes[i] is forbidden (the
    last position, with nothing after it, counts as forbidden)."""
    positions = np.minimum(positions, node.count - 2)
    rank = self.codes.rank
    here = rank[codes, node.ids[codes, positions]]
    after = rank[codes, node.ids[codes, positions + 1]]
    return after <= self.codes.reach[codes, here]

  def _best_positions(self, node: _Node, scores: np.ndarray) -> np.ndarray:
    """First best allowed position per code [codes]. A sparse code's forbidden positions
    are not masked up front: its best position is checked, and if forbidden masked
    (score -inf) and the search repeated."""
    position = scores.argmax(axis=1)
    for _ in range(_MAX_RECHECKS):
      # Only points with a close next value in a sparse code can make a split forbidden.
      maybe = self.codes.close_sparse[self.rows, node.ids[self.rows, position]]
      if not maybe.any():
        return position
      codes = np.flatnonzero(maybe)
      codes = codes[self._forbidden_at(node, codes, position[codes])]
      if not codes.size:
        return position
      scores[codes, position[codes]] = -np.inf
      position[codes] = scores[codes].argmax(axis=1)
    self._mask_forbidden(node, scores, self.codes.sparse)  # many forbidden positions here
    return scores.argmax(axis=1)

  def _best(self, node: _Node) -> tuple[int, int] | None:
    """The split scikit-learn picks at a node: (code, position), or None (a leaf)."""
    scores = self._scores(node)
    position = self._best_positions(node, scores)
    best = scores[self.rows, position]
    top = best.max()
    if not top >= 0.0:  # every code constant, or no allowed split
      return None
    floor = top - TIE_RTOL * top
    tied = np.flatnonzero(best >= floor)
    code = int(tied[0])
    # A node whose residuals are all equal (impurity 0 up to rounding) gains nothing from
    # any split: its "ties" are rounding noise and decide nothing.
    if top <= _NOISE * node.impurity:
      return code, int(position[code])
    if tied.size > 1:
      self.ties["codes"] += 1
      code = min(tied, key=self._visiting_order(node.heap).index)
    near = np.flatnonzero(scores[code, :-1] >= floor)
    if near.size > 1:
      near = near[~self._forbidden_at(node, np.full_like(near, code), near)]
      self.ties["positions"] += near.size > 1
    return code, int(position[code])

  # -- applying a split ------------------------------------------------------------------

  def _split(self, node: _Node, code: int, position: int, depth: int, start: int
             ) -> list[_Node]:
    """Records the split at slot node.heap; returns its children when they are split
    further, with their arrays at offset `start` of the next depth's buffers."""
    ids = node.ids[code]
    values = self.codes.codes[code]
    self.feature[node.heap] = code
    # The midpoint as the splitter forms it: float32 halves summed in float64.
    self.threshold[node.heap] = (np.float64(values[ids[position]]) / 2.0
                                 + np.float64(values[ids[position + 1]]) / 2.0)
    # Children's sums: the smaller side summed, the other by difference.
    row, cut = node.residual[code], position + 1
    part = row[:cut] if 2 * cut <= node.count else row[cut:]
    total, squares = float(part.sum()), float(np.dot(part, part))
    small = (part.size, total, squares)
    large = (node.count - part.size, node.total - total, node.squares - squares)
    stats = [small, large] if part.size == cut else [large, small]
    self.gain[code] += (node.count * node.impurity
                        - sum(n * _impurity(n, t, q) for n, t, q in stats))
    heaps = (2 * node.heap + 1, 2 * node.heap + 2)
    if depth + 1 == MAX_DEPTH:  # the children are leaves
      self.slots[ids[:cut]] = heaps[0] - _SPLITS
      self.slots[ids[cut:]] = heaps[1] - _SPLITS
      return []
    # Cut both children's points out of every code's order, keeping the order.
    goes_left = self.codes.goes_left
    goes_left[:] = False
    goes_left[ids[:cut]] = True
    side = goes_left.take(node.ids)
    children = []
    out_ids, out_residual = self.codes.node_ids[depth + 1], self.codes.node_residual[depth + 1]
    for heap, chosen, (n, total, squares) in zip(heaps, (side, ~side), stats):
      where = np.flatnonzero(chosen)
      end = start + where.size
      child_ids = node.ids.take(where, out=out_ids[start:end], mode="clip")
      child_residual = node.residual.take(where, out=out_residual[start:end], mode="clip")
      children.append(_Node(heap, child_ids.reshape(self.num_codes, n),
                            child_residual.reshape(self.num_codes, n), total, squares))
      start = end
    return children

  # -- the tree ----------------------------------------------------------------------------

  def grow(self, residual: np.ndarray) -> "_TreeGrower":
    """Grows the tree on the residual [points] (float64) of the training points."""
    codes = self.codes
    root_residual = residual.take(codes.order, mode="clip", out=codes.node_residual[0].reshape(
        self.num_codes, self.num_points))
    level = [_Node(0, codes.order, root_residual, float(residual.sum()),
                   float(np.dot(residual, residual)))]
    if self._splits(level[0], 0):
      self._log(level[0], None)
    for depth in range(MAX_DEPTH):
      next_level, start = [], 0
      for node in level:
        choice = self._best(node) if self._splits(node, depth) else None
        if choice is None:  # a leaf above depth 3
          self.slots[node.ids[0]] = _leaf_slot(node.heap)
          continue
        self.split = True
        children = self._split(node, *choice, depth, start)
        start += self.num_codes * node.count
        # Depth first: the children's draws come right after this node's (their own
        # children are depth-3 leaves, which draw nothing), before its right sibling's.
        for child in children:
          if self._splits(child, depth + 1):
            self._log(child, node)
        next_level.extend(children)
      level = next_level
    return self


def _apply(features: np.ndarray, thresholds: np.ndarray, codes_t: np.ndarray) -> np.ndarray:
  """Leaf slots of points in trees given in heap layout.

  features int64 [trees, 7], thresholds float64 [trees, 7] (+inf: all points left),
  codes_t float32 [codes, points] -> int64 [points, trees] in [0, 8).
  """
  # Every split slot's test on every point, then the path: slot = 4 b0 + 2 b1 + b2.
  right = codes_t[features] > thresholds[..., None]  # [trees, 7, points]
  first = right[:, 0]
  second = np.where(first, right[:, 2], right[:, 1])
  third = np.take_along_axis(right, (3 + 2 * first + second)[:, None, :], axis=1)[:, 0]
  return (4 * first + 2 * second + third).T.astype(np.int64)


def _newton_values(slots, residual, target, factor):
  """Leaf values of one round's trees (before the learning rate).

  slots, residual, target: [points, trees]; returns [trees, 8]: factor * mean(residual)
  / mean(p (1 - p)) per leaf with p = target - residual, 0 if the denominator < 1e-150.
  """
  num_trees = slots.shape[1]
  index = (slots + _LEAVES * np.arange(num_trees)).ravel()
  size = _LEAVES * num_trees
  count = np.bincount(index, minlength=size)
  probability = target - residual
  numerator = np.bincount(index, residual.ravel(), minlength=size)
  denominator = np.bincount(index, (probability * (1.0 - probability)).ravel(), minlength=size)
  with np.errstate(divide="ignore", invalid="ignore"):
    numerator = numerator / count * factor
    denominator = denominator / count
    values = np.where(np.abs(denominator) < 1e-150, 0.0, numerator / denominator)
  return np.where(count > 0, values, 0.0).reshape(num_trees, _LEAVES)


class ExactGradientBoosting:
  """GradientBoostingClassifier(random_state=seed).fit(codes, labels), reimplemented.

  Attributes
  ----------
  classes : ndarray [classes]
  feature_importances : float64 [codes]
    As scikit-learn's `feature_importances_`.
  ties : dict
    'codes': nodes where codes' best splits tied (broken by scikit-learn's draw order);
    'positions': nodes where the chosen code had tied positions (the first kept).
  """

  def __init__(self, codes: npt.ArrayLike, labels: npt.ArrayLike, seed: int,
               rounds: int | None = None) -> None:
    """Fits on codes [points, codes] (cast to float32) and labels [points]; `rounds`
    (scikit-learn's n_estimators; None: ROUNDS, dlib's 100) is for tests."""
    with np.errstate(over="ignore"):
      codes32 = np.asarray(codes).astype(np.float32)
    if not np.isfinite(codes32).all():  # as scikit-learn's input check (in float32)
      raise ValueError("codes contain NaN, infinity or a value too large for float32.")
    self.classes, y = np.unique(np.asarray(labels), return_inverse=True)
    num_classes = self.classes.size
    if num_classes < 2:
      raise ValueError(f"y contains {num_classes} class; gradient boosting needs 2.")
    self.binary = num_classes == 2
    per_round = 1 if self.binary else num_classes
    num_points, num_codes = codes32.shape
    self.init = self._initial_raw(np.bincount(y) / num_points)
    self.target = (y[:, None] if self.binary
                   else y[:, None] == np.arange(num_classes)).astype(np.float64)
    factor = 1.0 if self.binary else (num_classes - 1) / num_classes
    sorted_codes = _SortedCodes(codes32)
    random_state = np.random.RandomState(seed)
    self.ties = {"codes": 0, "positions": 0}
    raw = np.tile(self.init, (num_points, 1))
    gains, relevant = np.zeros(num_codes), 0
    slots = np.empty((num_points, per_round), dtype=np.int64)
    self.stages = []  # per round: (features [trees, 7], thresholds [trees, 7], values [trees, 8])
    for _ in range(ROUNDS if rounds is None else rounds):
      residual = self._negative_gradient(raw)
      residual_t = np.ascontiguousarray(residual.T)
      features = np.zeros((per_round, _SPLITS), dtype=np.int64)
      thresholds = np.full((per_round, _SPLITS), np.inf)
      for k in range(per_round):
        tree = _TreeGrower(sorted_codes, int(random_state.randint(0, RAND_R_MAX)),
                           self.ties).grow(residual_t[k])
        features[k], thresholds[k], slots[:, k] = tree.feature, tree.threshold, tree.slots
        if tree.split:
          gains += tree.gain / num_points
          relevant += 1
      values = _newton_values(slots, residual, self.target, factor)
      raw += LEARNING_RATE * values[np.arange(per_round), slots]
      self.stages.append((features, thresholds, values))
    self.raw_train = raw
    mean = gains / relevant if relevant else gains
    self.feature_importances = mean / mean.sum() if relevant else np.zeros(num_codes)

  def _initial_raw(self, prior: np.ndarray) -> np.ndarray:
    """Raw scores of the prior: [1] log-odds (binary) or [classes] log(p / gmean(p))."""
    eps = np.finfo(np.float64).eps
    prior = np.clip(prior, eps, 1 - eps)
    if self.binary:
      return scipy.special.logit(prior[1:2])
    return np.log(prior / scipy.stats.gmean(prior[None, :], axis=1)[:, None])[0]

  def _negative_gradient(self, raw: np.ndarray) -> np.ndarray:
    """Residual y - p [points, trees per round], formed as scikit-learn's log losses do."""
    if self.binary:
      raw, y = raw[:, 0], self.target[:, 0]
      with np.errstate(over="ignore"):
        exp = np.exp(-raw)
        gradient = np.where(raw > -37, ((1 - y) - y * exp) / (1 + exp), np.exp(raw) - y)
      return -gradient[:, None]
    exp = np.exp(raw - raw.max(axis=1, keepdims=True))
    total = exp[:, 0].copy()
    for k in range(1, exp.shape[1]):  # summed class after class, as the loss's C loop
      total += exp[:, k]
    return self.target - exp / total[:, None]

  def raw_scores(self, codes: npt.ArrayLike | None = None) -> np.ndarray:
    """Raw scores [points, trees per round] of codes [points, codes] (None: training)."""
    if codes is None:
      return self.raw_train
    codes_t = np.ascontiguousarray(np.asarray(codes).astype(np.float32).T)
    raw = np.tile(self.init, (codes_t.shape[1], 1))
    for features, thresholds, values in self.stages:
      slots = _apply(features, thresholds, codes_t)
      raw += LEARNING_RATE * values[np.arange(values.shape[0]), slots]
    return raw

  def predict(self, codes: npt.ArrayLike | None = None) -> np.ndarray:
    """Predicted labels [points] (None: the training codes), as scikit-learn's predict."""
    raw = self.raw_scores(codes)
    if self.binary:
      return self.classes[(raw[:, 0] >= 0).astype(np.int64)]
    return self.classes[np.argmax(raw, axis=1)]
