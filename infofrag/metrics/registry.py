"""Metric names: dlib's metric folder names -> dataset-level functions.

`METRICS[name]` has dlib's signature `(ground_truth_data, representation_function,
random_state) -> dict` with its parameters bound through gin (gin_configs/evaluate/<name>.gin).
The two downstream-task folders run the same function; their configs bind different
classifiers (`predictor.predictor_fn`), as dlib's study configs do.

`HEADLINE_KEYS[name]` are the result keys shown in the tables, under the column names of
`metric_columns` (`SHORT_METRIC_NAMES`).

`GROUP_METRICS[name]` score a group of models at once (dlib's `udr/evaluate.py`):
`(ground_truth_data, representation_functions, random_state) -> dict`, one function per
model; they are not per-model metrics, so `resolve_metric_names` refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infofrag.metrics import beta_vae
from infofrag.metrics import dci
from infofrag.metrics import downstream_task
from infofrag.metrics import factor_vae
from infofrag.metrics import fairness
from infofrag.metrics import irs
from infofrag.metrics import mig
from infofrag.metrics import modularity_explicitness
from infofrag.metrics import sap
from infofrag.metrics import udr
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
    "downstream_task_logistic_regression": downstream_task.evaluate_downstream_task,
    "downstream_task_boosted_trees": downstream_task.evaluate_downstream_task,
    "fairness": fairness.evaluate_fairness,
}

GROUP_METRICS = {
    "udr_sklearn": udr.compute_udr_sklearn,
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
    "downstream_logistic_regression": "downstream_task_logistic_regression",
    "downstream_boosted_trees": "downstream_task_boosted_trees",
}
GROUP_ALIASES = {"udr": "udr_sklearn"}

# The headline number(s) of each metric in summary tables.
HEADLINE_KEYS = {
    "mig": ["discrete_mig"],
    "sap_score": ["SAP_score"],
    "dci": ["disentanglement", "completeness", "informativeness_test"],
    "beta_vae_sklearn": ["eval_accuracy"],
    "factor_vae_metric": ["eval_accuracy"],
    "modularity_explicitness": ["modularity_score", "explicitness_score_test"],
    "irs": ["IRS"],
    "unsupervised": ["gaussian_total_correlation", "gaussian_wasserstein_correlation",
                     "mutual_info_score"],
    # The downstream tasks' test accuracy at their largest training size (see headline_value).
    "downstream_task_logistic_regression": ["mean_test_accuracy"],
    "downstream_task_boosted_trees": ["mean_test_accuracy"],
    "fairness": ["mean_fairness:mean_pred:mean_sens"],  # the score of Locatello et al. 2019
}
SHORT_METRIC_NAMES = {"sap_score": "sap", "beta_vae_sklearn": "beta_vae",
                      "factor_vae_metric": "factor_vae", "modularity_explicitness": "modularity",
                      "downstream_task_logistic_regression": "downstream_lr",
                      "downstream_task_boosted_trees": "downstream_gbt",
                      "fairness": "unfairness"}


def headline_value(metric: str, key: str, results: dict) -> Any:
  """`results[key]`; for the downstream tasks, whose keys are prefixed by the training size
  ("1000:mean_test_accuracy"), the value at the largest size. None when absent."""
  if metric.startswith("downstream_task"):
    sizes = [int(name.split(":")[0]) for name in results
             if name.endswith(f":{key}") and name.split(":")[0].isdigit()]
    return results.get(f"{max(sizes)}:{key}") if sizes else None
  return results.get(key)


def metric_columns(metrics: Sequence[str]) -> list[tuple[str, str, str]]:
  """[(metric, key, column name)] of the headline numbers of `metrics`."""
  columns = []
  for metric in metrics:
    for key in HEADLINE_KEYS.get(metric, []):
      short = SHORT_METRIC_NAMES.get(metric, metric)
      name = short if len(HEADLINE_KEYS[metric]) == 1 else f"{short}_{key}"
      if metric == "mig":
        name = "mig"
      columns.append((metric, key, name))
  return columns


# Names that stand for several metrics.
EXPANSIONS = {
    "downstream_task": ["downstream_task_logistic_regression", "downstream_task_boosted_trees"],
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
    unknown or empty names, or a group metric (UDR); the message lists the valid ones.
  """
  if isinstance(names, str):
    names = names.split(",")
  requested = [str(name).strip().lower() for name in names]
  requested = [name for name in requested if name]
  aliases = [f"{alias}={target}" for alias, target in sorted(ALIASES.items())]
  aliases += [f"{name}={'+'.join(targets)}" for name, targets in EXPANSIONS.items()]
  valid = ", ".join(sorted(METRICS)) + " (aliases: " + ", ".join(aliases) + "), or all"
  if not requested:
    raise ValueError(f"No metric named; valid metrics: {valid}.")
  resolved = []
  for name in requested:
    if name == "all":
      candidates = list(METRICS)
    elif name in METRICS:
      candidates = [name]
    elif name in EXPANSIONS:
      candidates = EXPANSIONS[name]
    elif GROUP_ALIASES.get(name, name) in GROUP_METRICS:
      raise ValueError(f"{GROUP_ALIASES.get(name, name)} scores a group of models together, "
                       "not one model; run it with infofrag.analysis.udr_group."
                       "evaluate_udr_group(model_dirs, output_dir), not as a per-model metric.")
    elif name in ALIASES:
      candidates = [ALIASES[name]]
    else:
      raise ValueError(f"Unknown metric {name!r}; valid metrics: {valid}.")
    resolved += [candidate for candidate in candidates if candidate not in resolved]
  return resolved
