"""Ensemble fusion inside an evaluation: the whole ensemble and each hotspot, fused.

Fusion optimises n x dim free posteriors against the members' fingerprints for many
steps, so it runs on the first `points` fingerprint points (the paper used n = 200).
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from infofrag import fragments
from infofrag import fusion
from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import sample as sample_lib
from infofrag.fragments import structure as fragments_structure
from infofrag.fragments import whole_spaces as spaces_lib

FUSION_COLUMNS = ["dataset", "fused", "members", "points", "dim", "fused_info_bits",
                  "members_mean_info_bits", "members_max_info_bits", "gain_over_best_bits",
                  "mean_nmi_with_members", "fused_best_factor", "fused_best_factor_nmi",
                  "members_best_nmi_for_it", "note"]


def run_fusion(embeddings: Sequence[embedding_lib.ModelEmbedding],
               structure: fragments_structure.EnsembleStructure,
               sample: sample_lib.FingerprintSample, *, dim: int, steps: int,
               points: int) -> dict[str, dict[str, Any]]:
  """{"all_models" | "hotspot_<label>": fusion report} (see `infofrag.fusion.fuse_ensemble`).

  Parameters
  ----------
  structure : EnsembleStructure
      Whose hotspots are fused one by one.
  dim, steps, points : int
      Fused dimension, SGD steps, and fingerprint points used.
  """
  import numpy as np
  points = min(points, sample.size)
  factors = sample.factors[:points]
  options = dict(dim=dim, steps=steps, factor_names=sample.factor_names)
  whole = np.stack([fragments.channel_fingerprints(
      e.mean[:points], e.logvar[:points], groups=[list(range(e.num_channels))])[0]
                    for e in embeddings])
  print(f"fusion: {len(embeddings)} models on {points} points, {steps} steps", file=sys.stderr,
        flush=True)
  reports = {"all_models": fusion.fuse_ensemble(
      whole, factors, member_names=[e.info.name for e in embeddings], **options)}
  mean, logvar = embedding_lib.concatenated(embeddings, points=points)
  index_of = {cid: i for i, cid in enumerate(embedding_lib.channel_ids(embeddings))}
  for hotspot in structure.hotspots:
    columns = [index_of[m] for m in hotspot.members]
    fingerprints = fragments.channel_fingerprints(mean, logvar, groups=[[c] for c in columns])
    print(f"fusion: hotspot {hotspot.label} ({len(columns)} channels)", file=sys.stderr,
          flush=True)
    reports[f"hotspot_{hotspot.label}"] = fusion.fuse_ensemble(
        fingerprints, factors, member_names=list(hotspot.members), **options)
  return reports


def fusion_rows(dataset: str, reports: Mapping[str, Mapping[str, Any]]) -> list[dict]:
  """One row per fusion: fused vs members' information, best factor of the fused space.

  NMI is clipped to [0, 1], and not reported (NaN, reason in ``note``) for a fused space
  below `spaces.INFORMATION_FLOOR_BITS`.
  """
  rows = []
  for target, report in reports.items():
    row = {"dataset": dataset, "fused": target, "members": report["num_members"],
           "points": report["num_points"], "dim": report["dim"],
           "fused_info_bits": report["fused_information_bits"],
           "members_mean_info_bits": report["members_information_bits"]["mean"],
           "members_max_info_bits": report["members_information_bits"]["max"],
           "gain_over_best_bits": report["gain_over_best_member_bits"],
           "mean_nmi_with_members": spaces_lib.clipped_nmi(report["nmi_with_members"]["mean"]),
           "note": spaces_lib.below_floor_note(report["fused_information_bits"],
                                               "the fused space's information")}
    factors = report.get("factors") or {}
    if factors:
      best = max(factors, key=lambda name: factors[name]["fused_nmi"])
      row.update({"fused_best_factor": best,
                  "fused_best_factor_nmi": spaces_lib.clipped_nmi(factors[best]["fused_nmi"]),
                  "members_best_nmi_for_it": spaces_lib.clipped_nmi(
                      factors[best]["best_member_nmi"])})
    if row["note"] is not None:  # NMI of an almost empty space is noise: not reported
      row.update({"mean_nmi_with_members": float("nan"), "fused_best_factor": None,
                  "fused_best_factor_nmi": float("nan")})
    rows.append(row)
  return rows
