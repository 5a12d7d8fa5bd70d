"""Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model Selection
for Variational Disentangled Representation Learning"), as in dlib's
`evaluation/udr/metrics/udr.py` (gin `udr_sklearn`).

UDR scores a *group* of models trained on the same data: it needs no factors. All
models encode the same sampled observations. Each model's posterior means are
standardised per latent; latents whose mean KL to the prior is at most 0.01 are zeroed.
For every ordered pair of models (i, j), a similarity matrix R [latents of i, latents of
j] is built: either |coefficients| of a Lasso regression (alpha 0.1) of j's latents on
i's ('lasso'), or |Spearman rank correlation| of every pair of latents ('spearman').
With `filter_low_kl`, only latents with KL above `kl_filter_threshold` keep their rows
and columns. The pairwise score is the relative strength of R,

    (mean over columns of max(col)^2 / sum(col) + mean over rows of max(row)^2 / sum(row)) / 2,

with 0 for a column or row whose ratio is undefined (0/0 or NaN), and a model's UDR is
the median of the pairwise scores (j, i) over the other models j.

Two dlib details are kept so numbers match: the zeroing uses 0.01 whatever
`kl_filter_threshold` is, and a constant latent has an undefined Spearman correlation
(NaN in `raw_correlations`), which makes its whole row and column of R score 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import gin
import numpy as np
import numpy.typing as npt
import scipy.stats
from sklearn import linear_model
from sklearn import preprocessing

from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.data.ground_truth.ground_truth_data import GroundTruthData

# dlib's UDR representation function: observations [B, ...] -> (means [B, d], mean KL [d]).
UdrRepresentationFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

CORRELATION_MATRICES = ("lasso", "spearman")
LASSO_ALPHA = 0.1
# dlib zeroes the standardised latents with mean KL <= 0.01, independently of
# kl_filter_threshold (which only decides the rows and columns kept for the score).
ZEROING_KL = 0.01


def gaussian_kl_per_latent(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
  """Mean KL(N(mean, exp(logvar)) || N(0, 1)) over points, per latent, in nats.

  Parameters
  ----------
  mean, logvar : ndarray of shape (num_points, num_latents)
    Posterior means and log-variances (their dtype is kept, as in dlib).

  Returns
  -------
  ndarray of shape (num_latents,)
  """
  return np.mean(0.5 * (np.square(mean) + np.exp(logvar) - logvar - 1), axis=0)


def kl_representation_function(
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> UdrRepresentationFunction:
  """dlib's UDR representation function of a Gaussian encoder.

  Parameters
  ----------
  encode : Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    observations [B, ...] -> (means [B, d], log-variances [B, d]).

  Returns
  -------
  UdrRepresentationFunction
    observations [B, ...] -> (means [B, d], `gaussian_kl_per_latent` of the batch [d]).
  """
  def representation(observations):
    mean, logvar = encode(observations)
    mean, logvar = np.asarray(mean), np.asarray(logvar)
    return mean, gaussian_kl_per_latent(mean, logvar)
  return representation


def check_options(*, correlation_matrix: str, kl_filter_threshold: Any) -> None:
  """One-line ValueErrors naming the `udr_sklearn` binding of a bad option."""
  checks.check_choice(correlation_matrix, name="udr_sklearn.correlation_matrix",
                      choices=CORRELATION_MATRICES)
  try:
    finite = not isinstance(kl_filter_threshold, bool) and np.isfinite(float(kl_filter_threshold))
  except (TypeError, ValueError):
    finite = False
  if not finite:
    raise ValueError("udr_sklearn.kl_filter_threshold must be a finite number; got "
                     f"{kl_filter_threshold!r}.")


def sample_representations(ground_truth_data: GroundTruthData,
                           representation_functions: Sequence[UdrRepresentationFunction], *,
                           batch_size: int, num_data_points: int,
                           random_state: np.random.RandomState
                           ) -> tuple[list[np.ndarray], list[np.ndarray]]:
  """Every model's means and mean KL on the same sampled observations, as dlib draws them.

  num_data_points / batch_size batches of observations are drawn from random_state;
  every function encodes each batch.

  Returns
  -------
  tuple[list[np.ndarray], list[np.ndarray]]
    (means: one float64 [num_data_points, d_m] per model, kls: one float64 [d_m] per
    model, the mean over batches of the batches' KL).
  """
  batch_size = checks.check_positive_int(batch_size, name="udr_sklearn.batch_size")
  num_data_points = checks.check_positive_int(num_data_points,
                                              name="udr_sklearn.num_data_points")
  if num_data_points % batch_size:
    raise ValueError(f"udr_sklearn.num_data_points ({num_data_points}) must be a multiple of "
                     f"udr_sklearn.batch_size ({batch_size}).")
  if not representation_functions:
    raise ValueError("UDR needs a list of representation functions, one per model.")
  num_batches = num_data_points // batch_size
  means, kls = None, None
  for batch in range(num_batches):
    observations = ground_truth_data.sample_observations(batch_size, random_state)
    outputs = [_checked_output(fn(observations), batch_size, model)
               for model, fn in enumerate(representation_functions)]
    if means is None:  # float64 storage, as dlib's
      means = [np.zeros((num_data_points, mean.shape[1])) for mean, _ in outputs]
      kls = [np.zeros((num_batches, kl.shape[0])) for _, kl in outputs]
    for model, (mean, kl) in enumerate(outputs):
      if mean.shape[1] != means[model].shape[1]:
        raise ValueError(f"UDR representation function {model} changed its number of latents "
                         f"between batches ({means[model].shape[1]} then {mean.shape[1]}).")
      means[model][batch * batch_size:(batch + 1) * batch_size] = mean
      kls[model][batch] = kl
  return means, [np.mean(kl, axis=0) for kl in kls]


def _checked_output(output, batch_size, model):
  """(means [B, d], kl [d]) of representation function `model`; a ValueError if not."""
  if not isinstance(output, (tuple, list)) or len(output) != 2:
    raise ValueError(f"UDR representation function {model} must return (means [B, d], mean KL "
                     "per latent [d]).")
  mean, kl = np.asarray(output[0]), np.asarray(output[1])
  if mean.ndim != 2 or mean.shape[0] != batch_size or kl.shape != (mean.shape[1],):
    raise ValueError(f"UDR representation function {model} returned shapes {mean.shape} and "
                     f"{kl.shape}; expected ({batch_size}, d) and (d,).")
  if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(kl))):
    raise ValueError(f"UDR representation function {model} returned NaN or infinite values.")
  return mean, kl


def kl_from_posteriors(mean: npt.ArrayLike, logvar: npt.ArrayLike, *,
                       batch_size: int) -> np.ndarray:
  """Mean KL per latent as dlib's UDR computes it: per batch of batch_size points, then
  averaged over batches.

  Parameters
  ----------
  mean, logvar : array_like of shape (num_points, d)
    Posterior means and log-variances; num_points a multiple of batch_size.
  batch_size : int
    udr_sklearn.batch_size.

  Returns
  -------
  ndarray of shape (d,)
    float64.
  """
  mean, logvar = np.asarray(mean), np.asarray(logvar)
  starts = range(0, mean.shape[0], batch_size)
  return np.mean(np.array([gaussian_kl_per_latent(mean[s:s + batch_size],
                                                  logvar[s:s + batch_size]) for s in starts],
                          dtype=np.float64), axis=0)


def standardise(means: np.ndarray, kl: np.ndarray) -> np.ndarray:
  """[num_points, d] means scaled to zero mean, unit variance per latent (scikit-learn's
  StandardScaler: a constant latent is only centred), latents with KL <= 0.01 zeroed."""
  scaled = preprocessing.StandardScaler().fit(means).transform(means)
  return scaled * np.greater(kl, ZEROING_KL)


def lasso_matrix(inputs: np.ndarray, targets: np.ndarray,
                 random_state: np.random.RandomState | int | None = None) -> np.ndarray:
  """|Lasso coefficients| (alpha 0.1) of targets [N, d_j] on inputs [N, d_i]: [d_i, d_j].

  random_state is handed to scikit-learn's Lasso as dlib does (with the default cyclic
  coordinate descent it changes no number).
  """
  model = linear_model.Lasso(alpha=LASSO_ALPHA, random_state=random_state)
  model.fit(inputs, targets)
  return np.abs(np.atleast_2d(model.coef_)).T


def spearman_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
  """|Spearman rank correlation| of every latent of first [N, d_i] with every latent of
  second [N, d_j]: [d_i, d_j]; NaN where either latent is constant.

  Ranks are scipy's (ties get their average rank); the correlation of ranks is Pearson's,
  clipped to [-1, 1] as numpy's corrcoef does.
  """
  def centred_unit_ranks(values):
    ranks = scipy.stats.rankdata(values, axis=0)
    ranks = ranks - ranks.mean(axis=0)
    norms = np.sqrt(np.sum(ranks * ranks, axis=0))
    constant = np.all(values == values[:1], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
      return np.where(constant, np.nan, ranks / norms)

  correlation = centred_unit_ranks(first).T @ centred_unit_ranks(second)
  return np.abs(np.clip(correlation, -1.0, 1.0))


def relative_strength_disentanglement(matrix: np.ndarray) -> float:
  """Relative strength score of a non-negative similarity matrix R [d_i, d_j] (float).

  Mean over columns of max^2 / sum, the same over rows, averaged; a column or row whose
  ratio is NaN (all zeros, or holding a NaN) counts as 0.

  Raises
  ------
  ValueError
    R has no rows or no columns.
  """
  if matrix.shape[0] == 0 or matrix.shape[1] == 0:
    raise ValueError(f"relative strength needs a non-empty similarity matrix; got shape "
                     f"{matrix.shape}.")
  with np.errstate(divide="ignore", invalid="ignore"):
    by_column = np.nan_to_num(np.square(np.max(matrix, axis=0)) / np.sum(matrix, axis=0),
                              nan=0.0)
    by_row = np.nan_to_num(np.square(np.max(matrix, axis=1)) / np.sum(matrix, axis=1),
                           nan=0.0)
  return float((np.mean(by_column) + np.mean(by_row)) / 2)


def udr_from_representations(means: Sequence[npt.ArrayLike], kls: Sequence[npt.ArrayLike], *,
                             random_state: np.random.RandomState | int | None,
                             correlation_matrix: str = "lasso", filter_low_kl: bool = True,
                             include_raw_correlations: bool = True,
                             kl_filter_threshold: float = 0.01) -> dict[str, Any]:
  """UDR of a group of models from their means on shared points (dlib's core).

  Parameters
  ----------
  means : sequence of array_like, each of shape (num_points, d)
    Posterior means of each model on the same points (row k: the same observation for
    every model). All models need the same d (dlib stores one [d, d] matrix per pair).
  kls : sequence of array_like, each of shape (d,)
    Each model's mean KL per latent (`kl_from_posteriors`).
  random_state : np.random.RandomState | int | None
    Handed to the Lasso fits (changes no number, see `lasso_matrix`).
  correlation_matrix : {'lasso', 'spearman'}
    Similarity of two models' latents.
  filter_low_kl : bool
    Score only latents with KL > kl_filter_threshold.
  include_raw_correlations : bool
    Return every pair's full similarity matrix.
  kl_filter_threshold : float
    See filter_low_kl.

  Returns
  -------
  dict[str, Any]
    `raw_correlations` (if asked): nested lists [M, M, d, d], zeros on the diagonal
    pairs; `pairwise_disentanglement_scores`: nested lists [M, M, 1], entry (i, j) the
    relative strength of R(i, j), 0 on the diagonal; `model_scores`: list of M floats,
    model i's median of entries (j, i) over j != i.

  Raises
  ------
  ValueError
    fewer than 2 models, mismatched shapes, or (with filter_low_kl) a model with no latent
    above the threshold (dlib fails there too).
  """
  check_options(correlation_matrix=correlation_matrix, kl_filter_threshold=kl_filter_threshold)
  if len(means) < 2 or len(means) != len(kls):
    raise ValueError(f"UDR compares models: it needs means and KLs of at least 2 models (got "
                     f"{len(means)} means and {len(kls)} KLs).")
  means = [checks.as_point_matrix(mean, name=f"means[{m}]") for m, mean in enumerate(means)]
  kls = [np.asarray(kl, dtype=np.float64) for kl in kls]
  for m, (mean, kl) in enumerate(zip(means, kls)):
    if mean.shape != means[0].shape or kl.shape != (mean.shape[1],):
      raise ValueError(f"UDR needs every model's means on the same points with the same number "
                       f"of latents and a KL per latent; model {m} has means {mean.shape} and "
                       f"KL {kl.shape}, model 0 means {means[0].shape}.")
  keep = [kl > kl_filter_threshold if filter_low_kl else np.ones(kl.shape, dtype=bool)
          for kl in kls]
  empty = [m for m, mask in enumerate(keep) if not mask.any()]
  if empty:
    raise ValueError(f"UDR is undefined: model(s) {empty} have no latent with mean KL above "
                     f"udr_sklearn.kl_filter_threshold = {kl_filter_threshold}.")
  latents = [standardise(mean, kl) for mean, kl in zip(means, kls)]
  num_models, dim = len(latents), latents[0].shape[1]
  raw = np.zeros((num_models, num_models, dim, dim))
  pairwise = np.zeros((num_models, num_models, 1))
  for i in range(num_models):
    for j in range(num_models):
      if i == j:
        continue
      if correlation_matrix == "lasso":
        raw[i, j] = lasso_matrix(latents[i], latents[j], random_state)
      else:
        raw[i, j] = spearman_matrix(latents[i], latents[j])
      pairwise[i, j] = relative_strength_disentanglement(raw[i, j][keep[i]][:, keep[j]])
  scores = {}
  if include_raw_correlations:
    scores["raw_correlations"] = raw.tolist()
  scores["pairwise_disentanglement_scores"] = pairwise.tolist()
  scores["model_scores"] = [float(np.median(np.delete(pairwise[:, i, 0], i)))
                            for i in range(num_models)]
  return scores


def udr_from_posteriors(means: Sequence[npt.ArrayLike], logvars: Sequence[npt.ArrayLike], *,
                        batch_size: int, random_state: np.random.RandomState | int | None,
                        **options: Any) -> dict[str, Any]:
  """UDR from each model's posterior means and log-variances on shared points.

  Equals `compute_udr_sklearn` run with representation functions that return these
  arrays batch by batch (the KL is averaged per batch of batch_size, as dlib does).

  Parameters
  ----------
  means, logvars : sequence of array_like, each of shape (num_points, d)
    One pair per model; num_points a multiple of batch_size.
  batch_size : int
    udr_sklearn.batch_size.
  random_state : np.random.RandomState | int | None
    See `udr_from_representations`.
  **options
    correlation_matrix, filter_low_kl, include_raw_correlations, kl_filter_threshold.

  Returns
  -------
  dict[str, Any]
    See `udr_from_representations`.
  """
  batch_size = checks.check_positive_int(batch_size, name="udr_sklearn.batch_size")
  if len(means) != len(logvars):
    raise ValueError(f"UDR needs one logvar array per means array; got {len(means)} and "
                     f"{len(logvars)}.")
  kls = []
  for m, (mean, logvar) in enumerate(zip(means, logvars)):
    if np.shape(mean) != np.shape(logvar) or np.shape(mean)[0] % batch_size:
      raise ValueError(f"model {m}: means {np.shape(mean)} and logvars {np.shape(logvar)} must "
                       f"have the same shape and a number of points that is a multiple of "
                       f"udr_sklearn.batch_size ({batch_size}).")
    kls.append(kl_from_posteriors(mean, logvar, batch_size=batch_size))
  return udr_from_representations(means, kls, random_state=random_state, **options)


@gin.configurable("udr_sklearn", denylist=["ground_truth_data", "representation_functions",
                                           "random_state"])
def compute_udr_sklearn(ground_truth_data: GroundTruthData,
                        representation_functions: Sequence[UdrRepresentationFunction],
                        random_state: np.random.RandomState, *,
                        batch_size: int = gin.REQUIRED, num_data_points: int = gin.REQUIRED,
                        correlation_matrix: str = "lasso", filter_low_kl: bool = True,
                        include_raw_correlations: bool = True,
                        kl_filter_threshold: float = 0.01) -> dict[str, Any]:
  """dlib's `udr_sklearn` on a dataset for a group of models.

  Parameters
  ----------
  ground_truth_data : GroundTruthData
    The dataset all models were trained on.
  representation_functions : sequence of UdrRepresentationFunction
    One per model: observations -> (means [B, d], mean KL per latent [d]); see
    `kl_representation_function`.
  random_state : np.random.RandomState
    Draws the observations (then handed to the Lasso fits).
  batch_size, num_data_points : int
    Observations are drawn and encoded batch_size at a time, num_data_points in all
    (a multiple of batch_size).
  correlation_matrix, filter_low_kl, include_raw_correlations, kl_filter_threshold
    See `udr_from_representations`.

  Returns
  -------
  dict[str, Any]
    See `udr_from_representations`.
  """
  check_options(correlation_matrix=correlation_matrix, kl_filter_threshold=kl_filter_threshold)
  means, kls = sample_representations(
      ground_truth_data, representation_functions, batch_size=batch_size,
      num_data_points=num_data_points, random_state=random_state)
  return udr_from_representations(
      means, kls, random_state=random_state, correlation_matrix=correlation_matrix,
      filter_low_kl=filter_low_kl, include_raw_correlations=include_raw_correlations,
      kl_filter_threshold=kl_filter_threshold)
