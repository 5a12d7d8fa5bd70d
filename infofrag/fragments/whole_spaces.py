"""Whole representation spaces side by side: information about the data and the factors.

Each space is a set of diagonal Gaussian posteriors (means and log-variances) of the same
N data points X (the fingerprint sample, X uniform over it, so H(X) = log2 N). For each
space the table gives, by Monte Carlo over the posteriors (`fragments.monte_carlo_*`):

- I(U;X) in bits and I/H(X);
- NMI and VI with all factors taken jointly (one discrete variable: the factor tuple) and
  with each factor;

next to the Bhattacharyya bound of I(U;X) and of the joint-factor NMI on the same points. A discrete factor enters the Monte
Carlo estimators as a space of its own: one dimension whose posterior mean is the class
index and whose variance is so small (1e-6) that different classes never overlap, so the
estimators see exactly the factor's empirical distribution.

The paper's model-pair similarity (its smallNORB analysis) is `model_similarity`: Monte
Carlo NMI/VI between every pair of models, combined by inverse-variance weighting.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from infofrag import fragments

# Variance of a factor's "posterior": classes one unit apart are 1/(8e-6) nats apart
# (Bhattacharyya), so their overlap is exp(-125000) = 0 in float64.
FACTOR_LOG_VARIANCE = float(np.log(1e-6))

# NMI divides a mutual information by entropy terms of the same size as the information
# I(U;X) a space holds about the points. Below this floor both are estimates of almost
# nothing and their ratio is noise (a collapsed model's 0.04 bits gave an "NMI" of 0.36,
# although I(U;F) <= I(U;X)), so NMI is not reported there: NaN, with the reason in "note".
INFORMATION_FLOOR_BITS = 0.1

def below_floor_note(info_bits: float, what: str = "I(U;X)") -> str | None:
  """The reason NMI is not reported for a space holding `info_bits` bits, or None if it is."""
  if np.isfinite(info_bits) and info_bits >= INFORMATION_FLOOR_BITS:
    return None
  return (f"NMI not reported: {what} = {info_bits:.3g} bits is below the "
          f"{INFORMATION_FLOOR_BITS:g}-bit floor")


def clipped_nmi(value: float | None) -> float | None:
  """NMI clipped to its valid range [0, 1] (estimates stray past it by their error); None
  and NaN stay."""
  if value is None or not np.isfinite(value):
    return value
  return float(min(1.0, max(0.0, value)))


@dataclasses.dataclass
class Space:
  """Posteriors of one representation space on the shared points.

  Attributes
  ----------
  name : str
      Row label, e.g. ``"3"`` (a model) or ``"beta_vae beta=16 (5 models)"``.
  kind : str
      ``"model"``, ``"concatenation"``, ``"fused"``.
  mean, logvar : ndarray of shape (N, d)
  members : int
      Models whose latents make up the space.
  method : str
      The learning method (e.g. ``"beta_vae"``, ``"beta_tc_vae"``; ``"fusion"``).
  """
  name: str
  kind: str
  mean: np.ndarray
  logvar: np.ndarray
  members: int = 1
  method: str = ""


def factor_space(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """A discrete variable as a Gaussian space: ((N, 1) class indices, (N, 1) tiny log-variance).

  Parameters
  ----------
  labels : ndarray of shape (N,) or (N, F)
      Integer labels; rows of an (N, F) array are taken jointly (one class per distinct row).
  """
  labels = np.asarray(labels)
  if labels.ndim == 1:
    labels = labels[:, None]
  if labels.ndim != 2 or labels.shape[0] < 2:
    raise ValueError(f"labels must have shape (N,) or (N, F) with N >= 2; got {labels.shape}.")
  _, classes = np.unique(labels, axis=0, return_inverse=True)
  mean = classes.reshape(-1, 1).astype(np.float64)
  return mean, np.full_like(mean, FACTOR_LOG_VARIANCE)


def concatenate(spaces: Sequence[Space], name: str) -> Space:
  """The space of several models' latents side by side (dims add up)."""
  if not spaces:
    raise ValueError("concatenate needs at least one space.")
  methods = sorted({s.method for s in spaces})
  return Space(name, "concatenation", np.concatenate([s.mean for s in spaces], axis=1),
               np.concatenate([s.logvar for s in spaces], axis=1),
               members=sum(s.members for s in spaces), method="+".join(methods))


def _nmi_vi(space: Space, other: tuple[np.ndarray, np.ndarray], num_samples: int,
            seed: int) -> tuple[float, float, float, float]:
  """(nmi, nmi_err, vi, vi_err) by Monte Carlo; NaN for a space that holds no information
  by the estimate (NMI is 0/0 there, e.g. an untrained fused space)."""
  try:
    result = fragments.monte_carlo_nmi_vi(space.mean, space.logvar, *other,
                                          num_samples=num_samples, seed=seed)
  except ValueError as error:
    if "carries no information" not in str(error):
      raise
    return (float("nan"),) * 4
  return result.nmi, result.nmi_error, result.vi, result.vi_error


def space_measures(space: Space, factors: np.ndarray, factor_names: Sequence[str], *,
                   num_samples: int, seed: int) -> dict:
  """Information and factor NMI/VI of one space by Monte Carlo, beside their Bhattacharyya
  bounds (see the module docstring; `infofrag.analysis.tables.space_row` adds MIG and SAP).

  Parameters
  ----------
  space : Space
      Posteriors on N points.
  factors : ndarray of shape (N, F)
      Integer factor labels of the same points.
  factor_names : sequence of F str
  num_samples : int
      Monte Carlo draws per information estimate.
  seed : int
      Root of the Monte Carlo streams (each estimate gets its own child stream).

  Returns
  -------
  dict
      ``space``, ``kind``, ``method``, ``members``, ``dims``, ``points``, ``mc_samples``,
      ``seed``, ``info_bits``, ``info_err``, ``info_fraction``, ``bhattacharyya_info_bits``,
      ``factors_nmi``/``_err``, ``factors_vi_bits``/``_err``, ``bhattacharyya_factors_nmi``,
      ``note``, and ``nmi_<factor>``, ``nmi_<factor>_err``, ``vi_<factor>``, ``vi_<factor>_err``
      for every factor.
  """
  factors = np.asarray(factors)
  num_points = space.mean.shape[0]
  if factors.shape[0] != num_points:
    raise ValueError(f"space {space.name!r} has {num_points} points but factors has "
                     f"{factors.shape[0]} rows.")
  streams = [int(v) for v in np.random.SeedSequence(seed).generate_state(2 + factors.shape[1])]
  info, info_err = fragments.monte_carlo_information(space.mean, space.logvar,
                                                     num_samples=num_samples, seed=streams[0])
  joint_nmi, joint_nmi_err, joint_vi, joint_vi_err = _nmi_vi(
      space, factor_space(factors), num_samples, streams[1])
  whole = fragments.LazyFingerprints(space.mean, space.logvar,
                                     groups=[list(range(space.mean.shape[1]))])
  joint_fingerprint = fragments.bhattacharyya_distances(*factor_space(factors))[None]
  bound_nmi, _ = fragments.pairwise_nmi_vi(whole, joint_fingerprint)
  bound_info = float(np.asarray(fragments.information(whole)).reshape(-1)[0])
  row = {"space": space.name, "kind": space.kind, "method": space.method,
         "members": space.members,
         "dims": space.mean.shape[1], "points": num_points, "mc_samples": num_samples,
         "seed": seed, "info_bits": info, "info_err": info_err,
         "info_fraction": info / np.log2(num_points),
         "bhattacharyya_info_bits": bound_info,
         "factors_nmi": joint_nmi, "factors_nmi_err": joint_nmi_err,
         "factors_vi_bits": joint_vi, "factors_vi_err": joint_vi_err,
         "bhattacharyya_factors_nmi": float(bound_nmi[0, 0])}
  for index, name in enumerate(factor_names):
    values = _nmi_vi(space, factor_space(factors[:, index]), num_samples, streams[2 + index])
    row.update(zip((f"nmi_{name}", f"nmi_{name}_err", f"vi_{name}", f"vi_{name}_err"), values))
  nmi_keys = ["factors_nmi", "factors_nmi_err"] + [
      f"nmi_{name}{suffix}" for name in factor_names for suffix in ("", "_err")]
  row["note"] = below_floor_note(info)
  if row["note"] is not None:
    row.update(dict.fromkeys(nmi_keys, float("nan")))
  bound_note = below_floor_note(bound_info, "its Bhattacharyya bound")
  if bound_note is not None:
    row["bhattacharyya_factors_nmi"] = float("nan")
    row["note"] = row["note"] or bound_note
  for key in ["factors_nmi", "bhattacharyya_factors_nmi"] + [f"nmi_{n}" for n in factor_names]:
    row[key] = clipped_nmi(row[key])
  return row


def inverse_variance_mean(values: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
  """Inverse-variance weighted mean of independent estimates and its standard error.

  mean = sum(v_k / e_k^2) / sum(1 / e_k^2), error = 1 / sqrt(sum(1 / e_k^2)).
  """
  values = np.asarray(values, dtype=np.float64)
  errors = np.asarray(errors, dtype=np.float64)
  if values.size == 0 or values.shape != errors.shape:
    raise ValueError(f"values and errors must be non-empty and of one shape; got {values.shape} "
                     f"and {errors.shape}.")
  if np.any(errors <= 0) or not np.all(np.isfinite(errors)):
    raise ValueError("every standard error must be positive and finite.")
  weights = 1.0 / np.square(errors)
  return float(np.sum(weights * values) / np.sum(weights)), float(1.0 / np.sqrt(np.sum(weights)))


def model_similarity(spaces: Sequence[Space], *, num_samples: int, seed: int) -> dict:
  """Monte Carlo NMI and VI between every pair of spaces, and their combination.

  Returns
  -------
  dict with ``names``; ``nmi``, ``nmi_err``, ``vi``, ``vi_err``: ndarray of shape (M, M)
  (diagonal: NaN); ``pairs``: one row per pair; ``combined``: the inverse-variance means of
  NMI and VI over the pairs with their errors, as the paper combines its smallNORB models.
  """
  count = len(spaces)
  if count < 2:
    raise ValueError(f"model similarity needs at least two models; got {count}.")
  shape = (count, count)
  nmi, nmi_err, vi, vi_err = (np.full(shape, np.nan) for _ in range(4))
  upper = list(zip(*np.triu_indices(count, 1)))
  streams = [int(v) for v in np.random.SeedSequence(seed).generate_state(len(upper))]
  pairs = []
  for stream, (a, b) in zip(streams, upper):
    result = fragments.monte_carlo_nmi_vi(spaces[a].mean, spaces[a].logvar, spaces[b].mean,
                                          spaces[b].logvar, num_samples=num_samples, seed=stream)
    note = (below_floor_note(result.info_a, f"I({spaces[a].name};X)")
            or below_floor_note(result.info_b, f"I({spaces[b].name};X)"))
    pair_nmi = float("nan") if note else clipped_nmi(result.nmi)
    pair_nmi_err = float("nan") if note else result.nmi_error
    for matrix, value in ((nmi, pair_nmi), (nmi_err, pair_nmi_err), (vi, result.vi),
                          (vi_err, result.vi_error)):
      matrix[a, b] = matrix[b, a] = value
    pairs.append({"model_a": spaces[a].name, "model_b": spaces[b].name, "nmi": pair_nmi,
                  "nmi_err": pair_nmi_err, "vi_bits": result.vi, "vi_err": result.vi_error,
                  "note": note})
  reported = [p for p in pairs if np.isfinite(p["nmi"])]
  combined_nmi = (inverse_variance_mean([p["nmi"] for p in reported],
                                        [p["nmi_err"] for p in reported])
                  if reported else (float("nan"), float("nan")))
  combined_vi = inverse_variance_mean([p["vi_bits"] for p in pairs], [p["vi_err"] for p in pairs])
  return {"names": [s.name for s in spaces], "nmi": nmi, "nmi_err": nmi_err, "vi": vi,
          "vi_err": vi_err, "pairs": pairs,
          "combined": {"nmi": clipped_nmi(combined_nmi[0]), "nmi_err": combined_nmi[1],
                       "vi_bits": combined_vi[0], "vi_err": combined_vi[1],
                       "pairs": len(pairs), "mc_samples": num_samples, "seed": seed}}
