"""Simulated ensembles with known structure, to measure how often the intervals cover the truth.

A population of models on N points: S shared sources (discrete factors and continuous
latent signals); a model carries source s, as one channel, with probability p_s, and has
`private_slots` further channels each informative with probability q, carrying a signal
of its own (unrelated to every other model). A channel is its signal plus fresh Gaussian
noise (standard deviation `noise`), with a fixed posterior log-variance. So the group
values are known:

- mean active channels per model: sum_s p_s + q * private_slots;
- hotspots: S (each source found again across models);
- fraction of informative channels in hotspots: sum_s p_s / (sum_s p_s + q * private_slots);
- mean within-hotspot NMI: the mean NMI between two independent copies of a source,
  averaged over sources (measured once on many copies, `true_values`).

`coverage` draws an ensemble again and again, computes each statistic and its interval
exactly as the zoo analysis does (`resampling`), and counts how often the interval holds
the true value.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from infofrag import fragments
from infofrag.analysis import resampling

STATISTICS = ("mean_active_channels",) + resampling.STRUCTURE_STATISTICS


@dataclasses.dataclass(frozen=True)
class Population:
  """Where simulated models come from.

  Attributes
  ----------
  sources : ndarray of shape (S, N)
      Standardised source signals on the N points.
  source_names : list of S str
  factors : ndarray of shape (N, F), int
      The discrete factors among the sources (their labels).
  presence : ndarray of shape (S,)
      Probability that a model carries each source.
  private_slots : int
  private_probability : float
  noise : float
      Standard deviation of a channel's noise (the sources have unit variance).
  logvar : float
      Posterior log-variance of every channel.
  """
  sources: np.ndarray
  source_names: list
  factors: np.ndarray
  presence: np.ndarray
  private_slots: int
  private_probability: float
  noise: float
  logvar: float

  @property
  def num_points(self) -> int:
    return int(self.sources.shape[1])


def make_population(*, num_points: int = 200, factor_values: Sequence[int] = (10, 8),
                    latent_signals: int = 1, presence: Sequence[float] = (0.9, 0.8, 0.6),
                    private_slots: int = 3, private_probability: float = 0.5,
                    noise: float = 0.5, posterior_std: float = 0.3, seed: int = 0) -> Population:
  """A population with discrete factors of `factor_values` classes and Gaussian latent signals.

  `presence` gives one probability per source: the factors first, then the latent signals.
  """
  rng = np.random.default_rng(seed)
  factors = np.stack([rng.integers(0, k, num_points) for k in factor_values], axis=1)
  signals = [factors[:, i].astype(np.float64) for i in range(len(factor_values))]
  signals += [rng.normal(size=num_points) for _ in range(latent_signals)]
  sources = np.stack([(s - s.mean()) / s.std() for s in signals])
  if len(presence) != len(signals):
    raise ValueError(f"presence needs one probability per source ({len(signals)}); got "
                     f"{len(presence)}.")
  names = [f"factor_{i}" for i in range(len(factor_values))] + [
      f"latent_{i}" for i in range(latent_signals)]
  return Population(sources, names, factors, np.asarray(presence, dtype=np.float64),
                    private_slots, private_probability, noise, float(2 * np.log(posterior_std)))


@dataclasses.dataclass
class Ensemble:
  """Simulated models' channels on the population's points.

  Attributes
  ----------
  mean, logvar : ndarray of shape (N, k)
  owner : ndarray of shape (k,), int
      Model of each channel (0..n-1).
  source : ndarray of shape (k,), int
      Source of each channel; -1 for a model's private signal.
  num_models : int
  """
  mean: np.ndarray
  logvar: np.ndarray
  owner: np.ndarray
  source: np.ndarray
  num_models: int


def draw_ensemble(population: Population, num_models: int,
                  rng: np.random.Generator) -> Ensemble:
  """n models drawn independently from the population."""
  count = population.sources.shape[0]
  carried = rng.random((num_models, count)) < population.presence
  private = rng.random((num_models, population.private_slots)) < population.private_probability
  owner = np.concatenate([np.repeat(np.arange(num_models), carried.sum(axis=1)),
                          np.repeat(np.arange(num_models), private.sum(axis=1))])
  source = np.concatenate([np.nonzero(carried)[1], np.full(int(private.sum()), -1)])
  order = np.argsort(owner, kind="stable")
  owner, source = owner[order], source[order]
  points = population.num_points
  signal = np.where(source[None, :] >= 0, population.sources[np.maximum(source, 0)].T,
                    rng.normal(size=(points, source.size)))
  mean = signal + population.noise * rng.normal(size=(points, source.size))
  return Ensemble(mean, np.full_like(mean, population.logvar), owner, source, num_models)


def pairwise(ensemble: Ensemble) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(nmi (k, k), vi (k, k), information (k,)) of the ensemble's channels."""
  terms = fragments.pairwise_information_terms(
      fragments.LazyFingerprints(ensemble.mean, ensemble.logvar), num_threads=1)
  nmi, vi = fragments.nmi_vi_from_terms(terms)
  return nmi, vi, np.asarray(terms.info_a)


def true_values(population: Population, *, copies: int = 40, seed: int = 1) -> dict[str, float]:
  """The group values the statistics estimate (`STATISTICS` keys)."""
  rng = np.random.default_rng(seed)
  shared = float(population.presence.sum())
  private = population.private_slots * population.private_probability
  within = []
  for signal in population.sources:
    mean = signal[:, None] + population.noise * rng.normal(size=(population.num_points, copies))
    nmi, _ = fragments.pairwise_nmi_vi(
        fragments.LazyFingerprints(mean, np.full_like(mean, population.logvar)), num_threads=1)
    within.append(nmi[~np.eye(copies, dtype=bool)].mean())
  return {"mean_active_channels": shared + private, "hotspots": float(len(population.sources)),
          "fraction_in_hotspots": shared / (shared + private),
          "mean_hotspot_nmi": float(np.mean(within))}


def ensemble_statistics(ensemble: Ensemble, nmi: np.ndarray, vi: np.ndarray,
                        information: np.ndarray, models: np.ndarray, *,
                        min_samples: int) -> np.ndarray:
  """`STATISTICS` of the ensemble restricted to `models` (repeats allowed: channels repeat)."""
  rows = np.concatenate([np.flatnonzero(ensemble.owner == m) for m in models])
  structure = fragments.structure_from_matrices(
      nmi[np.ix_(rows, rows)], vi[np.ix_(rows, rows)], information[rows], distance="nmi",
      min_samples=min_samples)
  active = np.bincount(ensemble.owner, minlength=ensemble.num_models)[models].mean()
  return np.concatenate([[active], resampling.structure_statistics(structure)])


def jackknife_interval(ensemble: Ensemble, nmi: np.ndarray, vi: np.ndarray,
                       information: np.ndarray, *, min_samples: int, resamples: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(estimate, low, high) of `STATISTICS` as the zoo analysis computes them."""
  every = np.arange(ensemble.num_models)
  estimate = ensemble_statistics(ensemble, nmi, vi, information, every, min_samples=min_samples)
  structure = fragments.structure_from_matrices(nmi, vi, information, distance="nmi",
                                                min_samples=min_samples)
  subsets = resampling.model_subsets(ensemble.num_models, resamples=resamples, seed=seed)
  redone = resampling.resample_structure(structure, ensemble.owner, subsets,
                                         min_samples=min_samples)
  active = resampling.subset_means(np.bincount(ensemble.owner, minlength=ensemble.num_models),
                                   subsets)
  values = np.column_stack([active, redone.statistics])
  low, high = resampling.jackknife_interval(estimate, values, subsets,
                                            bounds=[resampling.BOUNDS[s] for s in STATISTICS])
  return estimate, low, high


def bootstrap_interval(ensemble: Ensemble, nmi: np.ndarray, vi: np.ndarray,
                       information: np.ndarray, *, min_samples: int, resamples: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(low, high): the percentile bootstrap over models, repeated models clustered as drawn.

  Not used by the analysis; `coverage` measures it beside the jackknife to show why.
  """
  rng = np.random.default_rng(seed)
  draws = rng.integers(0, ensemble.num_models, size=(resamples, ensemble.num_models))
  values = np.array([ensemble_statistics(ensemble, nmi, vi, information, models,
                                         min_samples=min_samples) for models in draws])
  return (np.nanpercentile(values, 2.5, axis=0), np.nanpercentile(values, 97.5, axis=0))


@dataclasses.dataclass
class Coverage:
  """How often the 95% intervals held the true values.

  Attributes
  ----------
  truth : dict
      `true_values`.
  covered : ndarray of shape (repeats, 4), bool
      Per repeat and statistic (`STATISTICS` order), whether the interval held the truth.
  widths : ndarray of shape (repeats, 4)
  bootstrap_covered : ndarray of shape (repeats, 4), bool, or None
      The same for the percentile bootstrap (when asked).
  """
  truth: dict
  covered: np.ndarray
  widths: np.ndarray
  bootstrap_covered: np.ndarray | None = None

  def rates(self) -> dict[str, float]:
    """{statistic: fraction of repeats whose interval held the truth} (NaN intervals miss)."""
    return {name: float(v) for name, v in zip(STATISTICS, self.covered.mean(axis=0))}

  def bootstrap_rates(self) -> dict[str, float] | None:
    if self.bootstrap_covered is None:
      return None
    return {name: float(v) for name, v in zip(STATISTICS, self.bootstrap_covered.mean(axis=0))}


def coverage(population: Population, *, num_models: int, repeats: int,
             resamples: int = resampling.DEFAULT_RESAMPLES, min_samples: int = 3, seed: int = 0,
             with_bootstrap: bool = False, truth: dict | None = None) -> Coverage:
  """Draws `repeats` ensembles of `num_models` models; counts intervals that hold the truth."""
  truth = truth or true_values(population)
  target = np.array([truth[name] for name in STATISTICS])
  rng = np.random.default_rng(seed)
  covered = np.zeros((repeats, len(STATISTICS)), dtype=bool)
  widths = np.full((repeats, len(STATISTICS)), np.nan)
  boot = np.zeros_like(covered) if with_bootstrap else None
  for repeat in range(repeats):
    ensemble = draw_ensemble(population, num_models, rng)
    nmi, vi, information = pairwise(ensemble)
    _, low, high = jackknife_interval(ensemble, nmi, vi, information, min_samples=min_samples,
                                      resamples=resamples, seed=repeat)
    covered[repeat] = (low <= target) & (target <= high)
    widths[repeat] = high - low
    if boot is not None:
      low, high = bootstrap_interval(ensemble, nmi, vi, information, min_samples=min_samples,
                                     resamples=resamples, seed=repeat)
      boot[repeat] = (low <= target) & (target <= high)
  return Coverage(truth, covered, widths, boot)
