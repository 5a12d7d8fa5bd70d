"""infofrag: disentanglement_lib-compatible training and channel-level information analysis.

Sub-packages (where each thing happens):
  data/        ground-truth datasets (where data enters)
  models/      architectures, losses, the six VAE methods
  training/    the TF2 training loop and sweeps
  export/      SavedModel export and dlib-format result files
  zoo/         reading model directories (infofrag's and dlib's TF1 Hub modules)
  metrics/     standard disentanglement metrics (MIG, SAP, DCI, ...), dlib parity
  evaluation/  representation functions and metric runs over saved models
  fragments/   the paper's measures: fingerprints, NMI/VI, Monte Carlo info, hotspots
  fusion/      ensemble fusion ("boosting") of weak learners
  reports/     tables and figures
  cli/         the command-line programs (console scripts infofrag_*)
"""

from __future__ import annotations

__version__ = "0.1.0"
