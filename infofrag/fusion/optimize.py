"""`fuse`: optimise posteriors of N points in a d-dimensional space to agree with M members.

The fused space is N free Gaussians N(mu_i, diag(exp(logvar_i))) in `dim`
dimensions. Its fingerprint D (Bhattacharyya distances, nats) is compared with
every member fingerprint D_m through the paper's Bhattacharyya information terms, and the
mean similarity over members is maximised by gradient ascent (paper: plain SGD,
learning rate 3.0, 20,000 steps, mu ~ N(0, 0.05^2), logvar = 0).

How one step is computed (all members at once, no loop over members):
  F = 1 - exp(-D)                  [N, N], from the fused posteriors
  c_mi = mean_j (1 - exp(-D_m,ij))  [M, N], constant
  B_m = exp(-D_m)                  [M, N, N], constant
  1 - mean_j exp(-D_ij - D_m,ij) = c_mi + mean_j B_m,ij F_ij     (one contraction)
  I(D + D_m) = -mean_i log1p(-(c_mi + (B_m . F)_i / N))          (nats)
Written with 1 - exp(-x) (expm1) and log1p, the terms keep full relative
precision when the fused points are still nearly identical (D ~ 1e-3 at the
paper's initialisation), which matters for the NMI denominator 2 I - I(2 D).
The constant log N of every I term is kept (see `objectives`), gradients are
those of the paper's nats objective, and `history` is reported in bits for
`info`. Many steps run inside one compiled `tf.function` (a `tf.while_loop`),
so Python overhead is paid once per recorded history point, not per step.
TensorFlow is imported lazily.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from infofrag import fragments
from infofrag.fusion import objectives
from infofrag.utils import checks

if TYPE_CHECKING:
  import tensorflow as tf

INIT_MU_STDDEV = 0.05
OPTIMIZERS = ("sgd", "adam")
# Entropy terms (nats) below this count as "no information": NMI is 0 there.
_MIN_ENTROPY_NATS = 1e-12 * np.log(2.0)


@dataclasses.dataclass
class FusionResult:
  """Outcome of `fuse`.

  Attributes
  ----------
  mus, logvars : [N, dim] float64, the fused posteriors (logvar: natural log of the variance).
  objective : str, "info", "vi" or "nmi".
  history_steps : [K] int64, step counts at which `history` was recorded (0 = initial state).
  history : [K] float64, mean similarity to the members at those steps, as computed by
    the compiled float32 objective ("info" in bits, "vi" exp(-VI[nats]), "nmi" NMI).
  member_similarity : [M] float64, final similarity to each member, recomputed
    in float64 with `infofrag.fragments` (same units as `history`).
  seconds : float, wall-clock time of the optimisation.
  """
  mus: np.ndarray
  logvars: np.ndarray
  objective: str
  history_steps: np.ndarray
  history: np.ndarray
  member_similarity: np.ndarray
  seconds: float

  @property
  def similarity(self) -> float:
    """Mean final similarity over members (float64 evaluation)."""
    return float(np.mean(self.member_similarity))


def initial_posteriors(num_points: int, dim: int,
                       seed: int | np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
  """The paper's initialisation: mu ~ N(0, 0.05^2), logvar = 0.

  Parameters
  ----------
  num_points : int
    N, the number of points.
  dim : int
    Dimension of the fused space.
  seed : int, numpy.random.Generator or None
    Random stream of the means.

  Returns
  -------
  mus, logvars : ndarray of shape (N, dim)
    float64 means and log-variances (natural log).
  """
  rng = np.random.default_rng(seed)
  return rng.normal(0.0, INIT_MU_STDDEV, size=(num_points, dim)), np.zeros((num_points, dim))


def _member_constants(members, dtype=np.float64):
  """Per-member constants of the objective.

  Parameters
  ----------
  members : [M, N, N] float64 member fingerprints, nats.
  dtype : numpy dtype of the coefficient stack (the large array).

  Returns
  -------
  coefficients : [M, N, N] `dtype`, exp(-D_m).
  one_minus_mean : [M, N] float64, mean_j (1 - exp(-D_m,ij)).
  info_b, info_bb : [M] float64, I(D_m), I(2 D_m) in nats (log N included).
  """
  num_members, num_points = members.shape[:2]
  coefficients = np.empty(members.shape, dtype=dtype)
  one_minus_mean = np.empty((num_members, num_points))
  double_mean = np.empty((num_members, num_points))
  for m, member in enumerate(members):  # one [N, N] float64 temporary at a time
    coefficients[m] = np.exp(-member)
    one_minus_mean[m] = -np.expm1(-member).mean(axis=-1)
    double_mean[m] = np.expm1(-2.0 * member).mean(axis=-1)
  info_b = -np.log1p(-one_minus_mean).mean(axis=-1)
  info_bb = -np.log1p(double_mean).mean(axis=-1)
  return coefficients, one_minus_mean, info_b, info_bb


def bhattacharyya_tf(mus: tf.Tensor, logvars: tf.Tensor) -> tf.Tensor:
  """Bhattacharyya distances (nats) of diagonal Gaussians, differentiable.

  Per dimension 1/8 dmu^2 / mean(s2) + 1/2 log cosh(dlogvar / 2), where the second
  term is the Bhattacharyya formula's ln m2 - (logvar_i + logvar_j)/2 written so it is exactly 0 on the
  diagonal and smooth (log cosh x = x + softplus(-2x) - ln 2).

  Parameters
  ----------
  mus, logvars : tf.Tensor of shape (N, d)
    Means and log-variances (natural log).

  Returns
  -------
  tf.Tensor of shape (N, N)
    Distances, nats.
  """
  import tensorflow as tf
  diff_mu = mus[:, None, :] - mus[None, :, :]
  variances = tf.exp(logvars)
  half_diff_logvar = 0.5 * (logvars[:, None, :] - logvars[None, :, :])
  log_cosh = half_diff_logvar + tf.nn.softplus(-2.0 * half_diff_logvar) - np.log(2.0).astype(mus.dtype.as_numpy_dtype)
  terms = 0.25 * tf.square(diff_mu) / (variances[:, None, :] + variances[None, :, :]) + 0.5 * log_cosh
  return tf.reduce_sum(terms, axis=-1)


def _mean_neg_log1p_neg(values, axis):
  """-mean(log1p(-values)) along axis: I = -mean_i log(1 - u_i) from u_i = 1 - mean_j BC_ij."""
  import tensorflow as tf
  return -tf.reduce_mean(tf.math.log1p(-values), axis=axis)


def _similarity_of(constants: dict, objective: str,
                   num_points: int) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
  """similarity(mus, logvars) -> [M] reading the members' constants from `constants`.

  `constants` maps coefficients [M, N, N], one_minus_mean [M, N], info_b, info_bb and
  entropy_b [M] to tensors or variables (variables let one compiled runner serve several
  ensembles of the same shape).
  """
  import tensorflow as tf

  def similarity(mus, logvars):
    distances = bhattacharyya_tf(mus, logvars)
    one_minus_bc = -tf.math.expm1(-distances)
    info_a = _mean_neg_log1p_neg(tf.reduce_mean(one_minus_bc, axis=-1), axis=0)
    # Pair sums of all members in one contraction: sum_j B_m,ij F_ij for every (m, i).
    cross = tf.einsum("mij,ij->mi", constants["coefficients"], one_minus_bc) / num_points
    info_ab = _mean_neg_log1p_neg(constants["one_minus_mean"] + cross, axis=-1)
    mutual = info_a + constants["info_b"] - info_ab
    if objective == "info":
      return mutual
    info_aa = _mean_neg_log1p_neg(-tf.reduce_mean(tf.math.expm1(-2.0 * distances), axis=-1), axis=0)
    if objective == "vi":
      return tf.exp(-(2.0 * info_ab - info_aa - constants["info_bb"]))
    entropy_a = 2.0 * info_a - info_aa
    entropy_b = constants["entropy_b"]
    defined = tf.logical_and(entropy_a > _MIN_ENTROPY_NATS, entropy_b > _MIN_ENTROPY_NATS)
    safe = tf.where(defined, entropy_a * entropy_b, tf.ones_like(entropy_b))
    return tf.where(defined, mutual / tf.sqrt(safe), tf.zeros_like(mutual))

  return similarity


def _constant_arrays(members: np.ndarray, dtype: np.dtype) -> dict:
  """The members' constants of the objective as numpy arrays (see `_similarity_of`)."""
  coefficients, one_minus_mean, info_b, info_bb = _member_constants(members, dtype)
  return {"coefficients": coefficients, "one_minus_mean": one_minus_mean, "info_b": info_b,
          "info_bb": info_bb, "entropy_b": 2.0 * info_b - info_bb}


def make_similarity_fn(members: np.ndarray, objective: str,
                       dtype: tf.DType) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
  """Builds similarity(mus, logvars) -> [M] similarities (compiled objective, TF).

  Parameters
  ----------
  members : [M, N, N] float64 member fingerprints (validated).
  objective : "info", "vi" or "nmi".
  dtype : tf.float32 or tf.float64, compute type.

  Returns
  -------
  function of (mus [N, d], logvars [N, d]) -> [M] tensor: info in nats (every I term
  includes its log N, so this is the true mutual information), exp(-VI[nats]) or NMI.
  """
  import tensorflow as tf
  constants = {name: tf.constant(value, dtype=dtype)
               for name, value in _constant_arrays(members, dtype.as_numpy_dtype).items()}
  return _similarity_of(constants, objective, members.shape[1])


class _Runner:
  """A compiled optimisation of one shape and setting, reusable for other members and starts.

  Tracing and XLA-compiling the step loop costs ~2 s per fusion on 2 cores, more than 1,500
  steps at N = 100; `fuse` therefore keeps the last runner and, for a fusion of the same
  shape and settings, only assigns the new members' constants and starting posteriors to
  its variables (same operations, so the same numbers as a fresh runner).
  """

  def __init__(self, num_members, num_points, dim, objective, learning_rate, optimizer, dtype,
               jit_compile):
    import tensorflow as tf
    self.key = (num_members, num_points, dim, objective, learning_rate, optimizer, dtype,
                jit_compile)
    shapes = {"coefficients": (num_members, num_points, num_points),
              "one_minus_mean": (num_members, num_points), "info_b": (num_members,),
              "info_bb": (num_members,), "entropy_b": (num_members,)}
    self.constants = {name: tf.Variable(tf.zeros(shape, dtype=dtype), trainable=False)
                      for name, shape in shapes.items()}
    self.mus = tf.Variable(tf.zeros((num_points, dim), dtype=dtype))
    self.logvars = tf.Variable(tf.zeros((num_points, dim), dtype=dtype))
    self.slots = [tf.Variable(tf.zeros((num_points, dim), dtype=dtype), trainable=False)
                  for _ in range(4)]
    self.step_count = tf.Variable(tf.zeros((), dtype=dtype), trainable=False)
    similarity = _similarity_of(self.constants, objective, num_points)
    self.run = _make_runner(similarity, self.mus, self.logvars, self.slots, self.step_count,
                            learning_rate, optimizer, jit_compile)

  def start(self, constants: dict, mus: np.ndarray, logvars: np.ndarray) -> None:
    """Sets the members' constants and the starting posteriors; clears the optimiser state."""
    for name, value in constants.items():
      self.constants[name].assign(value.astype(self.constants[name].dtype.as_numpy_dtype))
    self.mus.assign(mus.astype(self.mus.dtype.as_numpy_dtype))
    self.logvars.assign(logvars.astype(self.logvars.dtype.as_numpy_dtype))
    for slot in self.slots:
      slot.assign(np.zeros(slot.shape, dtype=slot.dtype.as_numpy_dtype))
    self.step_count.assign(0.0)


_LAST_RUNNER: list = []  # at most one: bounded memory (its [M, N, N] coefficients)


def _runner_for(key: tuple) -> _Runner:
  if _LAST_RUNNER and _LAST_RUNNER[0].key == key:
    return _LAST_RUNNER[0]
  _LAST_RUNNER.clear()  # release the previous one's variables first
  _LAST_RUNNER.append(_Runner(*key))
  return _LAST_RUNNER[0]


def _make_runner(similarity, mus, logvars, slots, step_count, learning_rate, optimizer,
                 jit_compile):
  """A compiled function running `num_steps` ascent steps on the variables in one call."""
  import tensorflow as tf
  variables = [mus, logvars]
  lr = tf.constant(learning_rate, dtype=mus.dtype)
  beta1, beta2, epsilon = 0.9, 0.999, 1e-7

  def apply(grads):
    if optimizer == "sgd":
      for variable, grad in zip(variables, grads):
        variable.assign_sub(lr * grad)
      return
    step_count.assign_add(1.0)
    scale = lr * tf.sqrt(1.0 - beta2**step_count) / (1.0 - beta1**step_count)
    for k, (variable, grad) in enumerate(zip(variables, grads)):
      first, second = slots[2 * k], slots[2 * k + 1]
      first.assign(beta1 * first + (1.0 - beta1) * grad)
      second.assign(beta2 * second + (1.0 - beta2) * tf.square(grad))
      variable.assign_sub(scale * first / (tf.sqrt(second) + epsilon))

  def body(step, num_steps):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(similarity(mus, logvars))
    apply(tape.gradient(loss, variables))
    return step + 1, num_steps

  @tf.function(jit_compile=jit_compile)
  def run(num_steps):
    tf.while_loop(lambda step, total: step < total, body, [tf.constant(0), num_steps])
    return tf.reduce_mean(similarity(mus, logvars))

  return run


def fuse(fingerprints: npt.ArrayLike, dim: int = 2, objective: str = "info", steps: int = 20000,
         learning_rate: float = 3.0, optimizer: str = "sgd", seed: int = 0,
         record_every: int | None = None, dtype: str = "float32", jit_compile: bool = True,
         initial: tuple[npt.ArrayLike, npt.ArrayLike] | None = None) -> FusionResult:
  """Fuses M member fingerprints into one `dim`-dimensional posterior space.

  Parameters
  ----------
  fingerprints : [M, N, N] (or [N, N]) float array
    Bhattacharyya distances (nats) of the members on the same N points, e.g. from
    `infofrag.fragments.channel_fingerprints`.
  dim : int >= 1, dimension of the fused space.
  objective : "info" (mutual information I_a + I_b - I_ab), "vi" (exp(-VI), VI in
    nats as in the paper) or "nmi". The mean over members is maximised.
  steps : int >= 0, optimisation steps (paper: 20,000).
  learning_rate : float > 0 (paper: 3.0 with SGD; the gradient is that of the nats objective).
  optimizer : "sgd" (paper) or "adam".
  seed : int, seeds the initialisation mu ~ N(0, 0.05^2), logvar = 0.
  record_every : int or None
    Steps between history points (None: steps / 100, at least 1). Steps run in
    compiled chunks of this length.
  dtype : "float32" (default, fast) or "float64", compute type of the optimisation.
  jit_compile : bool, compile each chunk with XLA.
  initial : optional (mus, logvars) [N, dim] arrays to start from instead of the paper's init.

  Returns
  -------
  FusionResult (float64 posteriors, history, float64 per-member similarity).

  Memory: the members' coefficients exp(-D_m) are held as one [M, N, N] array of
  `dtype` (M = 50, N = 1000: 200 MB in float32). Time per step is O(M N^2 + N^2 dim).
  """
  import time
  import tensorflow as tf
  members = checks.as_member_fingerprints(fingerprints)
  dim = checks.check_int_range(dim, name="dim", minimum=1)
  objective = checks.check_choice(objective, name="objective", choices=objectives.OBJECTIVES)
  optimizer = checks.check_choice(optimizer, name="optimizer", choices=OPTIMIZERS)
  steps = checks.check_int_range(steps, name="steps", minimum=0)
  learning_rate = checks.check_positive_float(learning_rate, name="learning_rate")
  if dtype not in ("float32", "float64"):
    raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.")
  record_every = max(1, steps // 100) if record_every is None else checks.check_positive_int(
      record_every, name="record_every")
  num_points = members.shape[1]
  if initial is None:
    init_mus, init_logvars = initial_posteriors(num_points, dim, seed)
  else:
    init_mus, init_logvars = checks.as_posteriors(*initial)
    if init_mus.shape != (num_points, dim):
      raise ValueError(f"initial posteriors must be [{num_points}, {dim}]; got {init_mus.shape}.")

  tf_dtype = tf.float32 if dtype == "float32" else tf.float64
  start = time.perf_counter()
  runner = _runner_for((members.shape[0], num_points, dim, objective, learning_rate, optimizer,
                        tf_dtype, bool(jit_compile)))
  runner.start(_constant_arrays(members, tf_dtype.as_numpy_dtype), init_mus, init_logvars)
  run, mus, logvars = runner.run, runner.mus, runner.logvars
  to_report = (lambda value: value / np.log(2.0)) if objective == "info" else float  # nats -> bits
  history_steps = [0]
  history = [to_report(float(run(tf.constant(0))))]
  done = 0
  while done < steps:
    chunk = min(record_every, steps - done)
    value = float(run(tf.constant(chunk)))
    done += chunk
    history_steps.append(done)
    history.append(to_report(value))
  seconds = time.perf_counter() - start

  final_mus, final_logvars = mus.numpy().astype(np.float64), logvars.numpy().astype(np.float64)
  if not (np.all(np.isfinite(final_mus)) and np.all(np.isfinite(final_logvars))):
    raise FloatingPointError(
        f"fusion diverged (non-finite posteriors) with learning_rate={learning_rate}; "
        "use a smaller learning_rate or optimizer='adam'.")
  fused = fragments.bhattacharyya_distances(final_mus, final_logvars)
  terms = fragments.pairwise_information_terms(fused[None], members)
  return FusionResult(
      mus=final_mus, logvars=final_logvars, objective=objective,
      history_steps=np.asarray(history_steps, dtype=np.int64), history=np.asarray(history),
      member_similarity=objectives.similarities_from_terms(terms, objective), seconds=seconds)
