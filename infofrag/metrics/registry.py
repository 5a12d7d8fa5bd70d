"""Metric names: dlib's metric folder names -> dataset-level functions.

`METRICS[name]` has dlib's signature `(ground_truth_data, representation_function,
random_state) -> dict` with its parameters bound through gin (gin_configs/evaluate/<name>.gin).
"""

from __future__ import annotations

from collections.abc import Sequence

from infofrag.metrics import beta_vae
from infofrag.metrics import dci
from infofrag.metrics import factor_vae
from infofrag.metrics import irs
from infofrag.metrics import mig
from infofrag.metrics import modularity_explicitness
from infofrag.metrics import sap
from infofrag.metrics import unsupervised

METRICS = {
    "beta_vae_sklearn": beta_vae.evaluate_beta_vae,
    "factor_vae_metric": factor_vae.evaluate_factor_vae,
    "mig": mig.evaluate_mig,
    "modularity_explicitness": modularity_explicitness.evaluate_modularity_explicitness,
    "sap_score": sap.evaluate_sap,
    "dci": dci.evaluate_dci,
    "irs": irs.evaluate_irs,
    "unsupervised": unsupervised.evaluate_unsupervised,
}

ALIASES = {
    "sap": "sap_score",
    "beta_vae": "beta_vae_sklearn",
    "betavae": "beta_vae_sklearn",
    "factor_vae": "factor_vae_metric",
    "factorvae": "factor_vae_metric",
    "factor_vae_score": "factor_vae_metric",
    "modularity": "modularity_explicitness",
    "explicitness": "modularity_explicitness",
    "unsupervised_metrics": "unsupervised",
}


def resolve_metric_names(names: str | Sequence[str] | None) -> list[str]:
  """Canonical dlib names for a comma-separated list (or "all"), in the given order.

  Parameters
  ----------
  names : str | Sequence[str] | None
    e.g. "mig,sap,dci", "all", or a list of names. Case-insensitive; duplicates
    are dropped.

  Returns
  -------
  list[str]
    list of keys of METRICS.

  Raises
  ------
  ValueError
    unknown or empty names; the message lists the valid ones.
  """
  if isinstance(names, str):
    names = names.split(",")
  requested = [str(name).strip().lower() for name in names]
  requested = [name for name in requested if name]
  valid = ", ".join(sorted(METRICS)) + " (aliases: " + ", ".join(
      f"{alias}={target}" for alias, target in sorted(ALIASES.items())) + "), or all"
  if not requested:
    raise ValueError(f"No metric named; valid metrics: {valid}.")
  resolved = []
  for name in requested:
    if name == "all":
      candidates = list(METRICS)
    elif name in METRICS:
      candidates = [name]
    elif name in ALIASES:
      candidates = [ALIASES[name]]
    else:
      raise ValueError(f"Unknown metric {name!r}; valid metrics: {valid}.")
    resolved += [candidate for candidate in candidates if candidate not in resolved]
  return resolved
