"""`fuse_ensemble`: fuse an ensemble's fingerprints and report what the fused space holds.

numpy in, JSON-serialisable dict out (used by `infofrag_evaluate --fusion`).
All reported information is in bits and computed in float64 by
`infofrag.fragments` from the fused posteriors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from infofrag import fragments
from infofrag.fusion import optimize
from infofrag.utils import checks


def _names(names, count, prefix, argument):
  """Checks or creates `count` display names."""
  if names is None:
    return [f"{prefix}{k}" for k in range(count)]
  names = [str(name) for name in names]
  if len(names) != count:
    raise ValueError(f"{argument} has {len(names)} names but there are {count}; give one name each.")
  return names


def _as_labels(factor_labels, num_points):
  """[N, F] integer labels or None."""
  if factor_labels is None:
    return None
  labels = np.asarray(factor_labels)
  if labels.ndim == 1:
    labels = labels[:, None]
  if labels.ndim != 2 or labels.shape[0] != num_points:
    raise ValueError(
        f"factor_labels must be [N, F] with N = {num_points} (one row per fingerprint point); "
        f"got shape {labels.shape}.")
  return labels


def _factor_report(fused, members, labels, member_names, factor_names):
  """NMI of the fused space and of the best member with each factor."""
  factors = fragments.factor_fingerprints(labels)
  fused_nmi, _ = fragments.pairwise_nmi_vi(fused[None], factors)
  member_nmi, _ = fragments.pairwise_nmi_vi(members, factors)
  best = np.argmax(member_nmi, axis=0)
  return {
      name: {"fused_nmi": float(fused_nmi[0, f]),
             "best_member": member_names[best[f]],
             "best_member_nmi": float(member_nmi[best[f], f])}
      for f, name in enumerate(factor_names)}


def fuse_ensemble(fingerprints: npt.ArrayLike, factor_labels: npt.ArrayLike | None = None, dim: int = 2,
                  member_names: Sequence[str] | None = None,
                  factor_names: Sequence[str] | None = None, objective: str = "info",
                  steps: int = 20000, learning_rate: float = 3.0, optimizer: str = "sgd",
                  seed: int = 0, channels: Sequence[int] | None = None) -> dict[str, Any]:
  """Fuses M member fingerprints into a `dim`-dimensional space and reports on it.

  Parameters
  ----------
  fingerprints : array_like of shape (M, N, N)
    Bhattacharyya distances (nats) of the members (whole models, channel groups, or
    single channels) on the same N points.
  factor_labels : array_like of shape (N, F), optional
    Integer ground-truth factors of the N points.
  dim : int, optional
    Dimension of the fused space, >= 1.
  member_names, factor_names : sequence of str, optional
    M and F names (default member<k>, factor<f>).
  objective, steps, learning_rate, optimizer, seed : optional
    Passed to `fuse`.
  channels : sequence of int, optional
    Member indices to fuse (e.g. one hotspot's channels); default all.

  Returns
  -------
  dict
    JSON-serialisable report:
    objective, dim, steps, num_members, num_points, seconds,
    fused_information_bits, members_information_bits {mean, max, best_member, per_member},
    gain_over_best_member_bits (fused minus the best member),
    similarity {mean, per_member} (the optimised objective, float64),
    nmi_with_members {mean, per_member},
    factors {name: {fused_nmi, best_member, best_member_nmi}} (only with factor_labels),
    history {steps, values} (mean similarity during the optimisation).
  """
  members = checks.as_member_fingerprints(fingerprints)
  member_names = _names(member_names, members.shape[0], "member", "member_names")
  if channels is not None:
    channels = [int(c) for c in channels]
    if not channels or min(channels) < 0 or max(channels) >= members.shape[0]:
      raise ValueError(f"channels must be a non-empty list of member indices in [0, {members.shape[0]}); "
                       f"got {channels}.")
    members = members[channels]
    member_names = [member_names[c] for c in channels]
  labels = _as_labels(factor_labels, members.shape[1])

  result = optimize.fuse(members, dim=dim, objective=objective, steps=steps,
                         learning_rate=learning_rate, optimizer=optimizer, seed=seed)
  fused = fragments.bhattacharyya_distances(result.mus, result.logvars)
  fused_info = float(fragments.information(fused))
  member_info = np.asarray(fragments.information(members), dtype=np.float64)
  nmi, _ = fragments.pairwise_nmi_vi(fused[None], members)
  best = int(np.argmax(member_info))
  report = {
      "objective": result.objective, "dim": int(dim), "steps": int(steps),
      "num_members": int(members.shape[0]), "num_points": int(members.shape[1]),
      "seconds": float(result.seconds),
      "fused_information_bits": fused_info,
      "members_information_bits": {
          "mean": float(member_info.mean()), "max": float(member_info.max()),
          "best_member": member_names[best],
          "per_member": dict(zip(member_names, member_info.tolist()))},
      "gain_over_best_member_bits": fused_info - float(member_info.max()),
      "similarity": {"mean": result.similarity,
                     "per_member": dict(zip(member_names, result.member_similarity.tolist()))},
      "nmi_with_members": {"mean": float(nmi[0].mean()),
                           "per_member": dict(zip(member_names, nmi[0].tolist()))},
      "history": {"steps": result.history_steps.tolist(), "values": result.history.tolist()},
      "fused_posteriors": {"mus": result.mus.tolist(), "logvars": result.logvars.tolist()},
  }
  if labels is not None:
    factor_names = _names(factor_names, labels.shape[1], "factor", "factor_names")
    report["factors"] = _factor_report(fused, members, labels, member_names, factor_names)
  return report
