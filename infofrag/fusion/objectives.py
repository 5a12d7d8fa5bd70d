"""The fusion objectives evaluated exactly, in float64, from the fragments definitions.

For a fused fingerprint D and member fingerprints D_m on the same N points (the paper's Bhattacharyya estimates and fusion):

  info : I(D) + I(D_m) - I(D + D_m)               mutual information, bits
  vi   : exp(-VI(D, D_m)), VI in nats             (the paper's similarity)
  nmi  : NMI(D, D_m)                              dimensionless

The paper's notebook optimises the same quantities in nats and drops the
constant log N of every I term. That constant cancels in VI and only shifts
`info` (no effect on gradients), but it does not cancel in NMI: the notebook's
"NMI" is (MI - ln N) / sqrt((H_a - ln N)(H_b - ln N)), a different function.
infofrag keeps the log N term everywhere, so `nmi` is the true NMI, and
reports information in bits. exp(-VI) uses VI in nats, exactly as the paper,
so the similarity values (and the meaning of the learning rate) match it.

Behaviour worth knowing: as the fused points shrink together (D = eps A,
eps -> 0), the mutual information and sqrt(H_a H_b) both vanish like eps, so
this lower-bound NMI tends to a finite limit that can exceed 1. Maximising the
true NMI therefore keeps the fused space nearly collapsed (a fraction of a
bit) while its shape still follows the members; `continuity` is scale-free and
scores that shape. Use `info` or `vi` when the fused space itself must carry
the information.
Pure numpy: no TensorFlow.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from infofrag import fragments
from infofrag.utils import checks

LN2 = np.log(2.0)
# The fusion objectives: information, variation of information, NMI with the members.
OBJECTIVES = ("info", "vi", "nmi")


def similarities_from_terms(terms: fragments.InformationTerms, objective: str) -> np.ndarray:
  """Per-member similarity from fragments' information terms.

  Parameters
  ----------
  terms : fragments.InformationTerms of one fused fingerprint (A = 1) against M members, bits.
  objective : "info", "vi" or "nmi".

  Returns
  -------
  [M] float64: bits for "info", dimensionless for "vi" and "nmi".
  """
  objective = checks.check_choice(objective, name="objective", choices=OBJECTIVES)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  if objective == "info":
    return (terms.info_a[0] + terms.info_b - terms.info_ab[0]).astype(np.float64)
  if objective == "vi":
    return np.exp(-vi[0] * LN2)
  return nmi[0]


def fused_fingerprint(mus: npt.ArrayLike, logvars: npt.ArrayLike) -> np.ndarray:
  """Bhattacharyya distances of the fused space, all dimensions together.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    The fused posteriors (natural-log variances).

  Returns
  -------
  ndarray of shape (N, N)
    float64 distances, nats.
  """
  mus, logvars = checks.as_posteriors(mus, logvars)
  return fragments.bhattacharyya_distances(mus, logvars)


def member_similarities(mus: npt.ArrayLike, logvars: npt.ArrayLike, fingerprints: npt.ArrayLike,
                        objective: str = "info") -> np.ndarray:
  """Similarity of a fused space ([N, d] posteriors) to each of M member fingerprints.

  Parameters
  ----------
  mus, logvars : array_like of shape (N, d)
    The fused posteriors (natural-log variances).
  fingerprints : array_like of shape (M, N, N)
    Members' Bhattacharyya distances, nats.
  objective : {"info", "vi", "nmi"}, optional
    "info" (bits), "vi" (exp(-VI[nats])) or "nmi".

  Returns
  -------
  ndarray of shape (M,)
    float64 similarities; their mean is what `fuse` maximises.
  """
  members = checks.as_member_fingerprints(fingerprints)
  fused = fused_fingerprint(mus, logvars)
  if fused.shape[0] != members.shape[1]:
    raise ValueError(
        f"mus has {fused.shape[0]} points but the fingerprints are on {members.shape[1]}; "
        "both must describe the same N points.")
  terms = fragments.pairwise_information_terms(fused[None], members)
  return similarities_from_terms(terms, objective)
