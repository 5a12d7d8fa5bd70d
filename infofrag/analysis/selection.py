"""The model-selection table: do unsupervised per-model scores rank models like the
supervised metrics?

Per dataset, one row per unsupervised score of a model and one column per supervised
metric computed; each cell is the Spearman rank correlation across the dataset's models
with a percentile bootstrap interval (models drawn with replacement; no re-clustering is
involved, so repeated models do no harm here). The scores are computed once on the whole
ensemble:

- ``udr_*``: UDR (dlib's ``udr_sklearn``, lasso and Spearman variants) when the models
  table has such columns; otherwise the table says UDR was not computed;
- dlib's ``unsupervised`` scores when they were computed;
- ``fraction_in_hotspots``: the model's informative channels that lie in a hotspot of the
  whole ensemble (NMI distance), over its informative channels;
- ``best_match_nmi``: the mean over its informative channels of the best NMI with any
  other model's channel;
- ``info_bits_bound``: I(U;X) of the whole latent space, the Bhattacharyya bound on the
  fingerprint points; ``info_bits_mc``: the same by Monte Carlo, when the spaces table
  was made.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import pairwise as pairwise_lib
from infofrag.metrics import registry

CONFIDENCE = 0.95
UDR_PREFIX = "udr"
UDR_NOTE = "UDR not computed (no udr_* column in the models table)"
SCORE_DESCRIPTIONS = {
    "fraction_in_hotspots": "fraction of informative channels in hotspots (whole ensemble, NMI)",
    "best_match_nmi": "mean best NMI of a channel with another model's channel",
    "info_bits_bound": "I(U;X) of the whole space, Bhattacharyya bound (bits)",
    "info_bits_mc": "I(U;X) of the whole space, Monte Carlo (bits)",
}


def supervised_columns(metrics: Sequence[str]) -> list[str]:
  """The models-table columns of the supervised metrics among `metrics`."""
  return [column for metric, _, column in registry.metric_columns(metrics)
          if metric != "unsupervised" and not column.startswith(UDR_PREFIX)]


def unsupervised_metric_columns(metrics: Sequence[str]) -> list[str]:
  """dlib's unsupervised scores among `metrics` (their models-table columns)."""
  return [column for metric, _, column in registry.metric_columns(metrics)
          if metric == "unsupervised"]


def spearman_bootstrap(x: np.ndarray, y: np.ndarray, *, resamples: int, seed: int,
                       confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
  """Spearman's rho of x and y and its percentile bootstrap interval over the pairs.

  Parameters
  ----------
  x, y : array_like of shape (n,)
      One value per model; pairs with a NaN are left out.
  resamples, seed : int
      Bootstrap resamples of the pairs (with replacement) and their seed.

  Returns
  -------
  (rho, low, high, n): NaN where fewer than 3 pairs or a constant variable leave rho
  undefined; resamples whose rho is undefined (a constant draw) are left out.
  """
  from scipy import stats
  x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
  keep = np.isfinite(x) & np.isfinite(y)
  x, y = x[keep], y[keep]
  count = int(x.size)
  if count < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
    return float("nan"), float("nan"), float("nan"), count
  rho = float(stats.spearmanr(x, y).statistic)
  if resamples < 1:
    return rho, float("nan"), float("nan"), count
  draws = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
  rx = stats.rankdata(x[draws], axis=1)
  ry = stats.rankdata(y[draws], axis=1)
  rx -= rx.mean(axis=1, keepdims=True)
  ry -= ry.mean(axis=1, keepdims=True)
  denominator = np.sqrt(np.sum(rx * rx, axis=1) * np.sum(ry * ry, axis=1))
  with np.errstate(invalid="ignore", divide="ignore"):
    rhos = np.where(denominator > 0, np.sum(rx * ry, axis=1) / denominator, np.nan)
  rhos = rhos[np.isfinite(rhos)]
  if rhos.size < 2:
    return rho, float("nan"), float("nan"), count
  tail = 50 * (1 - confidence)
  low, high = np.percentile(rhos, [tail, 100 - tail])
  return rho, float(low), float(high), count


def model_scores(embeddings: Sequence[embedding_lib.ModelEmbedding],
                 model_table: Sequence[Mapping], *,
                 matrices: pairwise_lib.PairwiseMatrices | None = None,
                 space_rows: Sequence[Mapping] = (), metrics: Sequence[str] = ()
                 ) -> dict[str, np.ndarray]:
  """{score: ndarray of shape (n,)} per model, in `embeddings` order (NaN: no value).

  Parameters
  ----------
  embeddings : sequence of ModelEmbedding
  model_table : sequence of dict
      The models table rows (``hotspot_per_channel``, metric columns, ``udr_*``).
  matrices : PairwiseMatrices, optional
      The pairwise stage's NMI (for ``best_match_nmi``).
  space_rows : sequence of dict
      The spaces table rows (for ``info_bits_mc``).
  metrics : sequence of str
      The run's metrics (for dlib's unsupervised scores).
  """
  by_name = {row["model"]: row for row in model_table}
  rows = [by_name.get(e.info.name, {}) for e in embeddings]
  value = lambda row, key: float(row[key]) if row.get(key) is not None else np.nan
  scores: dict[str, np.ndarray] = {}
  udr = sorted({key for row in rows for key in row if key.startswith(UDR_PREFIX)})
  for key in udr + unsupervised_metric_columns(metrics):
    scores[key] = np.array([value(row, key) for row in rows])
  fraction = []
  for row in rows:
    labels = np.array(row.get("hotspot_per_channel") or [], dtype=np.int64)
    clustered = labels >= -1
    fraction.append(np.mean(labels[clustered] >= 0) if clustered.any() else np.nan)
  scores["fraction_in_hotspots"] = np.array(fraction, dtype=np.float64)
  if matrices is not None and matrices.channels.size:
    owner = np.concatenate([np.full(e.num_channels, i) for i, e in enumerate(embeddings)])
    owner = owner[matrices.channels]
    best = np.empty(owner.size)
    for start in range(0, owner.size, 1024):  # blocks of rows: no second (k, k) matrix
      rows = slice(start, start + 1024)
      others = owner[rows, None] != owner[None, :]
      best[rows] = np.where(others, np.clip(matrices.nmi[rows], 0.0, 1.0), -np.inf).max(axis=1)
    finite = np.isfinite(best)
    sums = np.bincount(owner[finite], weights=best[finite], minlength=len(embeddings))
    counts = np.bincount(owner[finite], minlength=len(embeddings))
    with np.errstate(invalid="ignore", divide="ignore"):
      scores["best_match_nmi"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
  scores["info_bits_bound"] = np.array([e.total_information for e in embeddings])
  space_of = {row["space"]: row for row in space_rows if row.get("kind") == "model"}
  if space_of:
    scores["info_bits_mc"] = np.array([value(space_of.get(e.info.name, {}), "info_bits")
                                       for e in embeddings])
  return scores


def selection_rows(dataset: str, scores: Mapping[str, np.ndarray],
                   supervised: Mapping[str, np.ndarray], *, resamples: int,
                   seed: int) -> list[dict]:
  """One row per unsupervised score: ``<metric>`` (rho), ``<metric>_low``, ``<metric>_high``.

  Without UDR columns among `scores`, a first row ``udr`` says so in ``note``.
  """
  rows = []
  if not any(name.startswith(UDR_PREFIX) for name in scores):
    rows.append({"dataset": dataset, "score": "udr", "models": None, "note": UDR_NOTE})
  for name, values in scores.items():
    finite = values[np.isfinite(values)]
    note = SCORE_DESCRIPTIONS.get(name)
    if finite.size and np.ptp(finite) == 0:
      # Spearman's rho is undefined for a score that does not tell the models apart.
      note = (note + "; " if note else "") + "the same for every model: no rank correlation"
    row: dict[str, Any] = {"dataset": dataset, "score": name, "models": int(finite.size),
                           "note": note}
    for metric, target in supervised.items():
      rho, low, high, _ = spearman_bootstrap(values, target, resamples=resamples, seed=seed)
      number = lambda v: float(v) if np.isfinite(v) else None
      row.update({metric: number(rho), f"{metric}_low": number(low),
                  f"{metric}_high": number(high)})
    rows.append(row)
  return rows


def selection_columns(metric_names: Sequence[str]) -> list[str]:
  """CSV columns of selection.csv for these supervised metric columns."""
  columns = ["dataset", "score", "models"]
  for name in metric_names:
    columns += [name, f"{name}_low", f"{name}_high"]
  return columns + ["note"]


def dataset_selection(dataset: str, embeddings: Sequence[embedding_lib.ModelEmbedding],
                      model_table: Sequence[Mapping], metrics: Sequence[str], *,
                      matrices: pairwise_lib.PairwiseMatrices | None,
                      space_rows: Sequence[Mapping],
                      resamples: int, seed: int) -> list[dict]:
  """The selection rows of one dataset."""
  by_name = {row["model"]: row for row in model_table}
  supervised = {
      column: np.array([float(by_name.get(e.info.name, {}).get(column))
                        if by_name.get(e.info.name, {}).get(column) is not None else np.nan
                        for e in embeddings])
      for column in supervised_columns(metrics)}
  scores = model_scores(embeddings, model_table, matrices=matrices, space_rows=space_rows,
                        metrics=metrics)
  return selection_rows(dataset, scores, supervised, resamples=resamples, seed=seed)
