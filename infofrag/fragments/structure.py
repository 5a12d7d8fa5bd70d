"""Structure of an ensemble of channels: low-information cut, OPTICS, hotspots.

Follows the paper's analysis (the authors' structure_from_trained_models.py): channels with I <= 0.01 bits
are dropped, OPTICS (scikit-learn, xi method, min_samples 20) runs on the
precomputed distances clip(VI, 0) or -ln(clip(NMI, 1e-4)), and each OPTICS
cluster is a "hotspot": a piece of information found again and again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from infofrag.fragments import information_bound as information_lib
from infofrag.fragments import nmi_vi as nmi_vi_lib
from infofrag.utils import checks

if TYPE_CHECKING:
  from infofrag.fragments.bhattacharyya import Fingerprints

# The paper's activity cut: a channel with at most this information about the data (bits)
# is inactive. Every stage that tells active from inactive channels reads it here.
ACTIVE_BITS = 0.01

DISTANCES = ("vi", "nmi")
NMI_FLOOR = 1e-4
OFF_DIAGONAL_FLOOR = 1e-12


@dataclasses.dataclass
class Hotspot:
  """One OPTICS cluster of nearly identical channels.

  Attributes
  ----------
  label : int, OPTICS cluster label (0, 1, ...).
  members : list of channel ids, in OPTICS order.
  indices : [size] int array, positions of the members in the full channel list.
  mean_nmi : float, mean NMI over distinct member pairs.
  information_bits : float, mean information of the members, bits.
  """
  label: int
  members: list[Any]
  indices: np.ndarray
  mean_nmi: float
  information_bits: float

  @property
  def size(self) -> int:
    return len(self.members)


@dataclasses.dataclass
class EnsembleStructure:
  """Result of `ensemble_structure` / `structure_from_matrices`.

  Attributes
  ----------
  channel_ids : list (M) of the labels given for the channels.
  information_bits : [M] float64, information of each channel, bits.
  nmi, vi : [M, M] float64, pairwise NMI and VI (bits) of all channels.
  distance : "vi" or "nmi", what OPTICS clustered on.
  kept : [K] int, indices of the channels with I > info_threshold_bits.
  dropped : list of ids of the channels dropped for low information.
  ordering : [K] int, OPTICS order as indices into the full channel list.
  reachability : [K] float64, OPTICS reachability in that order (inf where a new
    component starts).
  labels : [K] int, hotspot label in that order; -1 = in no hotspot.
  hotspots : list of Hotspot, by label.
  min_samples : int, the OPTICS min_samples actually used (at most K).
  info_threshold_bits : float.
  """
  channel_ids: list[Any]
  information_bits: np.ndarray
  nmi: np.ndarray
  vi: np.ndarray
  distance: str
  kept: np.ndarray
  dropped: list[Any]
  ordering: np.ndarray
  reachability: np.ndarray
  labels: np.ndarray
  hotspots: list[Hotspot]
  min_samples: int
  info_threshold_bits: float

  def hotspot_labels(self) -> np.ndarray:
    """ndarray of shape (M,), int64: hotspot label of every channel; -1 for none, -2 for dropped (low information)."""
    result = np.full(len(self.channel_ids), -2, dtype=np.int64)
    result[self.ordering] = self.labels
    return result

  def to_dict(self) -> dict[str, Any]:
    """JSON-friendly summary (ids as given, tuples as lists; no [M, M] matrices)."""
    clean = lambda values: [list(v) if isinstance(v, tuple) else v for v in values]
    finite = lambda values: [float(v) if np.isfinite(v) else None for v in values]
    return {
        "distance": self.distance,
        "min_samples": self.min_samples,
        "info_threshold_bits": self.info_threshold_bits,
        "channel_ids": clean(self.channel_ids),
        "information_bits": [float(v) for v in self.information_bits],
        "dropped": clean(self.dropped),
        "ordering": [int(v) for v in self.ordering],
        "reachability": finite(self.reachability),
        "labels": [int(v) for v in self.labels],
        "hotspots": [{
            "label": h.label, "size": h.size, "members": clean(h.members),
            "indices": [int(v) for v in h.indices], "mean_nmi": float(h.mean_nmi),
            "information_bits": float(h.information_bits)} for h in self.hotspots],
    }


def optics_distances(nmi: npt.ArrayLike, vi: npt.ArrayLike, distance: str) -> np.ndarray:
  """The precomputed OPTICS distance matrix of the paper.

  Parameters
  ----------
  nmi, vi : array_like of shape (K, K)
    Pairwise NMI (dimensionless) and VI (bits).
  distance : {"vi", "nmi"}
    "vi" -> clip(VI, 0); "nmi" -> -ln(clip(NMI, 1e-4, 1)).

  Returns
  -------
  ndarray of shape (K, K)
    float64, symmetric, zero diagonal, off-diagonal >= 1e-12 (symmetrised and zeroed
    on the diagonal because OPTICS expects a proper distance matrix; rounding can
    break both).
  """
  checks.check_choice(distance, name="distance", choices=DISTANCES)
  if distance == "vi":
    matrix = np.maximum(np.asarray(vi, dtype=np.float64), 0.0)
  else:
    matrix = -np.log(np.clip(np.asarray(nmi, dtype=np.float64), NMI_FLOOR, 1.0))
  matrix = 0.5 * (matrix + matrix.T)
  # Exact copies of a channel are at distance 0; OPTICS' xi method divides neighbouring
  # reachabilities, so zeros would hide their cluster. A floor far below any real
  # distance keeps the ratios finite without changing the ordering.
  np.maximum(matrix, OFF_DIAGONAL_FLOOR, out=matrix)
  np.fill_diagonal(matrix, 0.0)
  return matrix


def _check_matrices(nmi, vi, information_bits, channel_ids):
  nmi = np.asarray(nmi, dtype=np.float64)
  vi = np.asarray(vi, dtype=np.float64)
  information_bits = np.asarray(information_bits, dtype=np.float64).reshape(-1)
  count = information_bits.shape[0]
  if nmi.shape != (count, count) or vi.shape != (count, count):
    raise ValueError(
        f"nmi and vi must be [M, M] with M = len(information_bits) = {count}; got {nmi.shape} and {vi.shape}.")
  channel_ids = list(range(count)) if channel_ids is None else list(channel_ids)
  if len(channel_ids) != count:
    raise ValueError(f"channel_ids has {len(channel_ids)} entries but there are {count} channels.")
  if not (np.all(np.isfinite(nmi)) and np.all(np.isfinite(vi))):
    raise ValueError("nmi and vi must be finite; recompute them with pairwise_nmi_vi.")
  return nmi, vi, information_bits, channel_ids


def _hotspots(ordering, labels, nmi, information_bits, channel_ids):
  """Per-cluster summaries (ordering and labels in OPTICS order)."""
  result = []
  for label in np.unique(labels[labels >= 0]):
    indices = ordering[labels == label]
    block = nmi[np.ix_(indices, indices)]
    off_diagonal = ~np.eye(indices.size, dtype=bool)
    mean_nmi = float(block[off_diagonal].mean()) if indices.size > 1 else float(block[0, 0])
    result.append(Hotspot(label=int(label), members=[channel_ids[i] for i in indices],
                          indices=indices, mean_nmi=mean_nmi,
                          information_bits=float(information_bits[indices].mean())))
  return result


def hotspot_factor_nmi(structure: EnsembleStructure, factor_nmi: npt.ArrayLike) -> np.ndarray:
  """Mean NMI of each hotspot's members with each ground-truth factor.

  The hotspot's best factor is the argmax of its row: the definition used by
  both the figure's annotations and the evaluation tables.

  Parameters
  ----------
  structure : EnsembleStructure
    The structure whose hotspots are scored.
  factor_nmi : array_like of shape (K, F)
    NMI of every channel of `structure.channel_ids` (in that order) with every factor.

  Returns
  -------
  ndarray of shape (H, F)
    float64, one row per hotspot in `structure.hotspots` order.
  """
  factor_nmi = np.asarray(factor_nmi, dtype=np.float64)
  if factor_nmi.ndim != 2 or factor_nmi.shape[0] != len(structure.channel_ids):
    raise ValueError(
        f"factor_nmi must be [K, F] with K = {len(structure.channel_ids)} channels; got {factor_nmi.shape}.")
  rows = [factor_nmi[hotspot.indices].mean(axis=0) for hotspot in structure.hotspots]
  return np.array(rows).reshape(len(rows), factor_nmi.shape[1])


def structure_from_matrices(nmi: npt.ArrayLike, vi: npt.ArrayLike, information_bits: npt.ArrayLike,
                            channel_ids: Sequence[Hashable] | None = None, distance: str = "vi",
                            min_samples: int = 20, info_threshold_bits: float = ACTIVE_BITS,
                            optics_options: Mapping[str, Any] | None = None) -> EnsembleStructure:
  """Ensemble structure from precomputed pairwise NMI / VI and channel information.

  Parameters
  ----------
  nmi, vi : array_like of shape (M, M)
    Pairwise NMI and VI (bits), e.g. from `pairwise_nmi_vi`.
  information_bits : array_like of shape (M,)
    I of each channel, bits.
  channel_ids : sequence of M labels, optional
    E.g. (model, channel) tuples; default 0..M-1.
  distance : {"vi", "nmi"}, optional
    See `optics_distances`.
  min_samples : int, optional
    OPTICS min_samples, >= 2 (paper: 20); clipped to the number of kept channels,
    since OPTICS needs at least that many points.
  info_threshold_bits : float, optional
    Channels with I <= this (bits) are dropped (paper: 0.01).
  optics_options : mapping, optional
    Extra keyword arguments for sklearn.cluster.OPTICS.

  Returns
  -------
  EnsembleStructure
    Ordering, reachability, hotspots and dropped channels.
  """
  from sklearn import cluster
  nmi, vi, information_bits, channel_ids = _check_matrices(nmi, vi, information_bits, channel_ids)
  checks.check_choice(distance, name="distance", choices=DISTANCES)
  min_samples = checks.check_int_range(min_samples, name="min_samples", minimum=2)
  kept = np.nonzero(information_bits > info_threshold_bits)[0]
  dropped = [channel_ids[i] for i in np.nonzero(information_bits <= info_threshold_bits)[0]]
  used_min_samples = int(min(min_samples, max(kept.size, 2)))
  if kept.size < 2:
    # Nothing to cluster: at most one informative channel.
    return EnsembleStructure(
        channel_ids=channel_ids, information_bits=information_bits, nmi=nmi, vi=vi,
        distance=distance, kept=kept, dropped=dropped, ordering=kept.copy(),
        reachability=np.full(kept.size, np.inf), labels=np.full(kept.size, -1), hotspots=[],
        min_samples=used_min_samples, info_threshold_bits=float(info_threshold_bits))
  matrix = optics_distances(nmi[np.ix_(kept, kept)], vi[np.ix_(kept, kept)], distance)
  clustering = cluster.OPTICS(min_samples=used_min_samples, metric="precomputed",
                              **(optics_options or {})).fit(matrix)
  local_order = clustering.ordering_
  ordering = kept[local_order]
  labels = clustering.labels_[local_order]
  return EnsembleStructure(
      channel_ids=channel_ids, information_bits=information_bits, nmi=nmi, vi=vi,
      distance=distance, kept=kept, dropped=dropped, ordering=ordering,
      reachability=np.asarray(clustering.reachability_[local_order], dtype=np.float64),
      labels=labels.astype(np.int64),
      hotspots=_hotspots(ordering, labels, nmi, information_bits, channel_ids),
      min_samples=used_min_samples, info_threshold_bits=float(info_threshold_bits))


def ensemble_structure(fingerprints: Fingerprints | None = None,
                       channel_ids: Sequence[Hashable] | None = None, distance: str = "vi",
                       min_samples: int = 20, info_threshold_bits: float = ACTIVE_BITS,
                       nmi: npt.ArrayLike | None = None, vi: npt.ArrayLike | None = None,
                       information_bits: npt.ArrayLike | None = None,
                       dtype: npt.DTypeLike = np.float64,
                       max_memory_bytes: int = nmi_vi_lib.DEFAULT_WORK_BYTES,
                       optics_options: Mapping[str, Any] | None = None) -> EnsembleStructure:
  """Hotspots of an ensemble of channels (the paper's structure analysis).

  Parameters
  ----------
  fingerprints : [M, N, N] float array (nats) or `LazyFingerprints`, the channels
    of every model on one shared fingerprint set. May be None when nmi, vi and
    information_bits are all given.
  channel_ids : sequence of M labels, e.g. (model, channel) tuples.
  distance, min_samples, info_threshold_bits, optics_options : see
    `structure_from_matrices`.
  nmi, vi : optional [M, M] precomputed matrices (skip the pairwise computation).
  information_bits : optional [M] precomputed channel information, bits.
  dtype, max_memory_bytes : passed to `pairwise_information_terms`.

  Returns
  -------
  EnsembleStructure: ordering, reachability, hotspot labels, dropped channels,
  and per hotspot its members, mean within-hotspot NMI and information.
  """
  if nmi is None or vi is None:
    if fingerprints is None:
      raise ValueError("Give either fingerprints or both nmi and vi (with information_bits).")
    terms = nmi_vi_lib.pairwise_information_terms(fingerprints, None, dtype=dtype,
                                                  max_memory_bytes=max_memory_bytes)
    nmi, vi = nmi_vi_lib.nmi_vi_from_terms(terms)
    if information_bits is None:
      information_bits = terms.info_a
  if information_bits is None:
    if fingerprints is None:
      raise ValueError("information_bits is needed when fingerprints are not given.")
    information_bits = information_lib.information(fingerprints)
  return structure_from_matrices(nmi, vi, information_bits, channel_ids, distance=distance,
                                 min_samples=min_samples, info_threshold_bits=info_threshold_bits,
                                 optics_options=optics_options)
