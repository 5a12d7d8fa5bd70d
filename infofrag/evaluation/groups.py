"""Per-group summary of an ensemble's structure: one row per hyperparameter value.

The row answers the paper's question for one group of models (e.g. all beta-VAEs at
beta = 16): how many channels stay informative, how much of that information is found
again and again across the group's models (hotspots), and how strongly.
"""

from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from infofrag.fragments import structure as structure_lib

GROUP_COLUMNS = ["dataset", "group", "distance", "models", "mean_active_channels", "hotspots",
                 "fraction_in_hotspots", "mean_hotspot_nmi", "mean_mig", "hotspot_factors"]


def group_row(dataset: str, group: str, structure: structure_lib.EnsembleStructure,
              hotspot_factor_nmi: np.ndarray, factor_names: Sequence[str],
              active_channels: Sequence[int], mig: Sequence[Optional[float]]) -> Dict:
  """The summary row of one group.

  Parameters
  ----------
  dataset, group : str
      Names shown in the row.
  structure : EnsembleStructure
      The group's OPTICS structure (channels of the group's models only).
  hotspot_factor_nmi : ndarray of shape (H, F)
      Mean NMI of each hotspot's members with each factor (`hotspot_factor_nmi`).
  factor_names : sequence of F str
  active_channels : sequence of int
      Per model of the group, its channels above the information threshold.
  mig : sequence of float or None
      Per model of the group, its MIG (None where it was not computed).

  Returns
  -------
  dict with the keys of `GROUP_COLUMNS`:
    - ``fraction_in_hotspots``: hotspot members / informative channels (NaN if none);
    - ``mean_hotspot_nmi``: mean over hotspots of their mean within-hotspot NMI (NaN if
      there is no hotspot);
    - ``hotspot_factors``: each hotspot's best factor and its mean NMI, e.g.
      ``"0:pos_x=0.52 1:pos_y=0.49"``.
  """
  informative = len(structure.kept)
  in_hotspots = sum(h.size for h in structure.hotspots)
  known_mig = [float(v) for v in mig if v is not None]
  best = [(h.label, factor_names[int(np.argmax(row))], float(np.clip(np.max(row), 0, 1)))
          for h, row in zip(structure.hotspots, hotspot_factor_nmi)]
  return {
      "dataset": dataset, "group": group, "distance": structure.distance,
      "models": len(active_channels),
      "mean_active_channels": float(np.mean(active_channels)) if active_channels else float("nan"),
      "hotspots": len(structure.hotspots),
      "fraction_in_hotspots": in_hotspots / informative if informative else float("nan"),
      "mean_hotspot_nmi": (float(np.clip(np.mean([h.mean_nmi for h in structure.hotspots]), 0, 1))
                           if structure.hotspots else float("nan")),
      "mean_mig": float(np.mean(known_mig)) if known_mig else None,
      "hotspot_factors": " ".join(f"{label}:{name}={value:.2f}" for label, name, value in best),
  }


def model_groups(channel_ids: Sequence[str]) -> List[str]:
  """The model name of each channel id ``"<model>:<channel>"``, in order."""
  return [str(cid).rsplit(":", 1)[0] for cid in channel_ids]


def hotspot_coverage(structure: structure_lib.EnsembleStructure) -> List[int]:
  """Number of distinct models among each hotspot's members, in hotspot order."""
  return [len(set(model_groups(h.members))) for h in structure.hotspots]


def group_rows(dataset: str, structures: Mapping[str, structure_lib.EnsembleStructure],
               factor_nmi_of: Mapping[str, np.ndarray], factor_names: Sequence[str],
               models_of: Mapping[str, Sequence[Mapping]]) -> List[Dict]:
  """One `group_row` per group (the whole-ensemble group "all" excluded).

  Parameters
  ----------
  structures : {group: EnsembleStructure}
  factor_nmi_of : {group: ndarray of shape (K_group, F)}
      NMI of each of the group's channels (in `structure.channel_ids` order) with each factor.
  models_of : {group: [model row]}
      The models table rows of the group (``active_channels`` and ``mig`` are read).
  """
  rows = []
  for group, structure in structures.items():
    if group == "all":
      continue
    members = models_of.get(group, [])
    means = structure_lib.hotspot_factor_nmi(structure, factor_nmi_of[group])
    rows.append(group_row(dataset, group, structure, means, factor_names,
                          [int(m["active_channels"]) for m in members],
                          [m.get("mig") for m in members]))
  return rows
