"""infofrag.fragments: the paper's channel-level measures (Murphy, Dillavou & Bassett).

Fingerprints (Bhattacharyya distance matrices of channels on a shared set of
points), their information about the data, pairwise NMI / VI of channels and
factors, Monte Carlo information of full latent spaces, and the hotspot
structure of an ensemble with its figure. Pure numpy / scipy / scikit-learn /
matplotlib: no TensorFlow.
"""

from __future__ import annotations

from infofrag.fragments.bhattacharyya import ArrayFingerprints
from infofrag.fragments.bhattacharyya import bhattacharyya_distances
from infofrag.fragments.bhattacharyya import channel_fingerprints
from infofrag.fragments.bhattacharyya import factor_fingerprints
from infofrag.fragments.bhattacharyya import FACTOR_MISMATCH_DISTANCE
from infofrag.fragments.bhattacharyya import LazyFingerprints
from infofrag.fragments.information_bound import information
from infofrag.fragments.monte_carlo import monte_carlo_information
from infofrag.fragments.monte_carlo import monte_carlo_nmi_vi
from infofrag.fragments.monte_carlo import MonteCarloComparison
from infofrag.fragments.monte_carlo import propagate_nmi_vi
from infofrag.fragments.nmi_vi import combine_row_sums
from infofrag.fragments.nmi_vi import InformationTerms
from infofrag.fragments.nmi_vi import nmi_vi_from_terms
from infofrag.fragments.nmi_vi import pairwise_information_terms
from infofrag.fragments.nmi_vi import pairwise_nmi_vi
from infofrag.fragments.nmi_vi import pairwise_row_sums
from infofrag.fragments.nmi_vi import terms_from_row_sums
from infofrag.fragments.plotting import plot_structure
from infofrag.fragments.structure import ACTIVE_BITS
from infofrag.fragments.structure import DISTANCES
from infofrag.fragments.structure import ensemble_structure
from infofrag.fragments.structure import EnsembleStructure
from infofrag.fragments.structure import Hotspot
from infofrag.fragments.structure import hotspot_factor_nmi
from infofrag.fragments.structure import optics_distances
from infofrag.fragments.structure import structure_from_matrices

__all__ = [
    "ArrayFingerprints", "bhattacharyya_distances", "channel_fingerprints", "factor_fingerprints",
    "FACTOR_MISMATCH_DISTANCE", "LazyFingerprints", "information", "monte_carlo_information",
    "monte_carlo_nmi_vi", "MonteCarloComparison", "propagate_nmi_vi", "combine_row_sums",
    "InformationTerms", "nmi_vi_from_terms", "pairwise_information_terms", "pairwise_nmi_vi",
    "pairwise_row_sums", "terms_from_row_sums", "plot_structure",
    "ACTIVE_BITS", "DISTANCES", "ensemble_structure", "EnsembleStructure", "Hotspot", "hotspot_factor_nmi", "optics_distances",
    "structure_from_matrices",
]
