"""Groups of models and their OPTICS structure: where an ensemble repeats information.

A group is the whole ensemble ("all") and, optionally, each hyperparameter value. Each
group is clustered on both of the paper's distances between channels, -ln NMI and VI;
the hotspots of `HOTSPOT_DISTANCE` label channels in the tables, get traversals and are
fused.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import pairwise as pairwise_lib
from infofrag.fragments import structure as structure_lib
from infofrag.zoo import model_info

# -ln NMI is scale-free, whereas VI (bits) also groups unrelated channels that carry
# little information: the NMI hotspots are the ones reported.
HOTSPOT_DISTANCE = "nmi"

Structures = Mapping[str, Mapping[str, structure_lib.EnsembleStructure]]


def hyperparameter_label(info: model_info.ModelInfo) -> str:
  """The group a model belongs to, e.g. ``"beta-VAE beta=16"`` (method alone if none)."""
  if info.hyperparameter is None:
    return info.method_label
  value = info.hyperparameter_value
  text = f"{value:g}" if isinstance(value, float) else str(value)
  return f"{info.method_label} {info.hyperparameter.split('.')[-1]}={text}"


def _label_sort_key(label: str, infos: Sequence[model_info.ModelInfo], labels: list[str]):
  """Groups of one method in increasing hyperparameter value (numeric, not text, order)."""
  info = infos[labels.index(label)]
  value = info.hyperparameter_value
  numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
  return (info.method_label, 0 if numeric else 1, value if numeric else 0, str(value))


def group_members(embeddings: Sequence[embedding_lib.ModelEmbedding], *,
                  per_hyperparameter: bool) -> dict[str, np.ndarray]:
  """{group name: indices of its channels among all channels}.

  "all", and per hyperparameter value when asked. A value with a single model gets no
  group of its own: a hotspot is information found again in other models, so it needs at
  least two.
  """
  groups = {"all": np.arange(sum(e.num_channels for e in embeddings))}
  if per_hyperparameter:
    owner = np.concatenate([[i] * e.num_channels for i, e in enumerate(embeddings)])
    infos = [e.info for e in embeddings]
    labels = [hyperparameter_label(info) for info in infos]
    for label in sorted(set(labels), key=lambda l: _label_sort_key(l, infos, labels)):
      models = [i for i, l in enumerate(labels) if l == label]
      if len(models) >= 2:
        groups[label] = np.nonzero(np.isin(owner, models))[0]
  return groups


def find_structures(embeddings: Sequence[embedding_lib.ModelEmbedding],
                    matrices: pairwise_lib.PairwiseMatrices, *, min_samples: int,
                    per_hyperparameter: bool
                    ) -> dict[str, dict[str, structure_lib.EnsembleStructure]]:
  """{distance: {group: EnsembleStructure}} for both of the paper's distances.

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  matrices : PairwiseMatrices
      NMI / VI between the channels that entered the pairwise stage (``channels``, the
      active ones by default); only those channels are clustered.
  min_samples : int
      OPTICS ``min_samples``.
  per_hyperparameter : bool
      Add one group per hyperparameter value.
  """
  ids = embedding_lib.channel_ids(embeddings)
  row_of = np.full(len(ids), -1, dtype=np.int64)
  row_of[matrices.channels] = np.arange(matrices.channels.size)
  structures: dict[str, dict[str, structure_lib.EnsembleStructure]] = {
      distance: {} for distance in fragments.DISTANCES}
  groups = group_members(embeddings, per_hyperparameter=per_hyperparameter)
  for group, members in groups.items():
    rows = row_of[members]
    rows = rows[rows >= 0]
    for distance in fragments.DISTANCES:
      structures[distance][group] = fragments.structure_from_matrices(
          matrices.nmi[np.ix_(rows, rows)], matrices.vi[np.ix_(rows, rows)],
          matrices.information[rows], [ids[c] for c in matrices.channels[rows]],
          distance=distance, min_samples=min_samples)
  return structures


def hotspot_label_of(structure: structure_lib.EnsembleStructure,
                     channel_ids: Sequence[str]) -> list[int]:
  """Hotspot label of each channel id: -1 in no hotspot, -2 inactive (not clustered)."""
  labels = dict(zip(structure.channel_ids, structure.hotspot_labels().tolist()))
  return [int(labels.get(cid, -2)) for cid in channel_ids]


def aligned_factor_nmi(embeddings: Sequence[embedding_lib.ModelEmbedding],
                       structure: structure_lib.EnsembleStructure) -> np.ndarray:
  """ndarray of shape (k_group, n_factors): factor NMI of a structure's channels, in its
  ``channel_ids`` order."""
  factor_nmi = np.concatenate([e.factor_nmi for e in embeddings], axis=0)
  index_of = {cid: i for i, cid in enumerate(embedding_lib.channel_ids(embeddings))}
  return factor_nmi[[index_of[c] for c in structure.channel_ids]]


def representative(hotspot: structure_lib.Hotspot,
                   structure: structure_lib.EnsembleStructure) -> str:
  """The member channel with the most information (ties: first in OPTICS order)."""
  return hotspot.members[int(np.argmax(structure.information_bits[hotspot.indices]))]
