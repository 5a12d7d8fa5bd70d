"""The zoo analysis, stage by stage: options in, a typed `ZooAnalysis` out.

Per dataset (models of different datasets are never mixed):

1. the fingerprint sample (`sample`);
2. every model embedded on it, with its channel information and factor NMI / VI
   (`embedding`, cached per model);
3. dlib's metrics per model (`metric_runs`, dlib's result layout);
4. NMI / VI between all channels (`pairwise`, cached per ensemble);
5. OPTICS structure per group and distance (`structure`);
6. the structures redone on resamples of each group's models (`uncertainty`);
7. figures (`figures`), fusion (`fusion_runs`), whole spaces (`spaces`);
8. table rows (`tables`), their intervals and chance levels (`uncertainty`), the
   model-selection table (`selection`).

Nothing here parses flags or prints tables: the commands do (`infofrag.cli.common.run_analysis`),
after `outputs` wrote the tables. Every stage reuses its cached result, so a rerun after
Ctrl-C or a crash redoes only what is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import Any, Iterator, Sequence

from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import figures as figures_lib
from infofrag.analysis import fusion_runs
from infofrag.analysis import options as options_lib
from infofrag.analysis import pairwise as pairwise_lib
from infofrag.analysis import sample as sample_lib
from infofrag.analysis import selection as selection_lib
from infofrag.analysis import spaces as spaces_stage
from infofrag.analysis import structure as structure_lib
from infofrag.analysis import tables
from infofrag.analysis import udr_group
from infofrag.analysis import uncertainty
from infofrag.distributed import scheduler
from infofrag.evaluation import metric_runs
from infofrag.metrics import registry
from infofrag.utils import layout
from infofrag.zoo import loading as models_lib
from infofrag.zoo import model_info


class EvaluationInputError(ValueError):
  """Input rejected before any model was touched (the command exits with code 2)."""


@dataclasses.dataclass(frozen=True)
class StageFailure:
  """A stage that failed for one group or one dataset; the other stages and tables go on.

  Attributes
  ----------
  dataset, stage : str
      Where it failed (stage: "pairwise", "figures", "fusion", "spaces", ...).
  subject : str
      What it failed for: a group, a space, or "all".
  reason : str
      One line.
  """
  dataset: str
  stage: str
  subject: str
  reason: str


@dataclasses.dataclass
class DatasetAnalysis:
  """Everything computed for the models of one dataset.

  Attributes
  ----------
  dataset : str
  models, hotspots, groups, spaces, model_similarity, fusion : list of dict
      Table rows (see `tables`, `spaces`, `fusion_runs`).
  metrics_by_hyperparameter, selection : list of dict
      Each metric's mean per group with its interval; the model-selection table
      (`uncertainty`, `selection`).
  duplicates : list of DuplicateModel
      Models left out because they repeat another model of the dataset.
  stage_failures : list of StageFailure
  details : dict
      JSON-able extras for results.json: sample path, factor names, cache counts, stage
      seconds, figures, structures, fusion reports.
  """
  dataset: str
  factor_names: list[str]
  models: list[dict] = dataclasses.field(default_factory=list)
  hotspots: list[dict] = dataclasses.field(default_factory=list)
  groups: list[dict] = dataclasses.field(default_factory=list)
  spaces: list[dict] = dataclasses.field(default_factory=list)
  model_similarity: list[dict] = dataclasses.field(default_factory=list)
  fusion: list[dict] = dataclasses.field(default_factory=list)
  metrics_by_hyperparameter: list[dict] = dataclasses.field(default_factory=list)
  selection: list[dict] = dataclasses.field(default_factory=list)
  figures: list[str] = dataclasses.field(default_factory=list)
  duplicates: list[models_lib.DuplicateModel] = dataclasses.field(default_factory=list)
  stage_failures: list[StageFailure] = dataclasses.field(default_factory=list)
  details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ZooAnalysis:
  """The analyses of every dataset of a run, the models that failed or repeat others."""
  options: options_lib.EvaluationOptions
  datasets: dict[str, DatasetAnalysis]
  failures: list[models_lib.ModelFailure]
  duplicates: list[models_lib.DuplicateModel] = dataclasses.field(default_factory=list)

  def rows(self, table: str) -> list[dict]:
    """All datasets' rows of one table ("models", "hotspots", "groups", ...)."""
    return [row for analysis in self.datasets.values() for row in getattr(analysis, table)]

  @property
  def all_duplicates(self) -> list[models_lib.DuplicateModel]:
    """Folders given twice, then each dataset's models with identical posteriors."""
    return self.duplicates + [d for a in self.datasets.values() for d in a.duplicates]

  @property
  def stage_failures(self) -> list[StageFailure]:
    return [f for analysis in self.datasets.values() for f in analysis.stage_failures]

  @property
  def factor_names(self) -> list[str]:
    """Factor names of all datasets, first seen first."""
    names: dict[str, None] = {}
    for analysis in self.datasets.values():
      names.update(dict.fromkeys(analysis.factor_names))
    return list(names)


@contextlib.contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
  """Records the seconds spent in the block as ``seconds[stage]``."""
  start = time.time()
  try:
    yield
  finally:
    seconds[stage] = time.time() - start


class _Stages:
  """Runs the stages of one dataset, each isolated: a stage that raises is recorded as a
  `StageFailure` (one line) and the analysis goes on without its result. A full disk or a
  read-only file system is not a stage's fault: it stops the run."""

  def __init__(self, analysis: DatasetAnalysis, seconds: dict[str, float]) -> None:
    self.analysis = analysis
    self.seconds = seconds

  @contextlib.contextmanager
  def stage(self, name: str, subject: str = "all") -> Iterator[None]:
    start = time.time()
    try:
      yield
    except Exception as error:
      if models_lib.is_environment_error(error):
        raise
      self.analysis.stage_failures.append(
          StageFailure(self.analysis.dataset, name, subject, models_lib.first_line(error)))
    finally:
      self.seconds[name] = self.seconds.get(name, 0.0) + time.time() - start


def analyse_dataset(dataset: str, infos: Sequence[model_info.ModelInfo],
                    options: options_lib.EvaluationOptions, loader: models_lib.ModelLoader,
                    *, client: Any = None
                    ) -> tuple[DatasetAnalysis, list[models_lib.ModelFailure]]:
  """Runs every stage for the models of one dataset.

  Returns the analysis and the models that failed (embedding or metrics); a model whose
  metrics failed keeps its channel analysis, with the reason in ``metrics_error``. Models
  whose posteriors repeat another's bit for bit are counted once (``analysis.duplicates``).
  A later stage that fails (pairwise, structure, figures, fusion, spaces) is recorded in
  ``analysis.stage_failures`` and every other table is still made. With a Dask `client`,
  embedding and metrics run as one task per model and the pairwise stage as one task per
  pair of channel blocks.
  """
  output_dir = options.output_dir
  sample = sample_lib.fingerprint_sample(dataset, size=options.fingerprint_size,
                                         seed=options.fingerprint_seed, output_dir=output_dir)
  cache_dir = layout.cache_dir(output_dir, sample.key)
  embedded = embedding_lib.embed_models(infos, sample, cache_dir=cache_dir, loader=loader,
                                        client=client, progress=options.progress)
  failures = list(embedded.failures)
  embeddings, duplicates = embedding_lib.split_duplicates(embedded.embeddings)
  seconds = dict(embedded.seconds)
  analysis = DatasetAnalysis(dataset, list(sample.factor_names), duplicates=duplicates)
  metric_options = dict(metrics=options.metrics, representation=options.representation,
                        gin_config_files=options.gin_config_files,
                        gin_bindings=options.gin_bindings, overwrite=options.overwrite,
                        output_dir=output_dir, no_recompute=options.no_recompute)
  with _timed(seconds, "metrics"):
    if client is not None and options.metrics:
      metric_rows, metric_failures = metric_runs.evaluate_on_workers(
          [e.info for e in embeddings], client=client, **metric_options)
    else:
      metric_rows, metric_failures = metric_runs.evaluate_standard_metrics(
          [e.info for e in embeddings], loader=loader, progress=options.progress,
          **metric_options)
  failures += [models_lib.ModelFailure(f.model_dir, "metrics: " + f.reason)
               for f in metric_failures]
  analysis.details = {"fingerprint_sample": sample.path,
                      "fingerprint_size": sample.size, "fingerprint_seed": options.fingerprint_seed,
                      "factor_names": sample.factor_names,
                      "cached_embeddings": embedded.reused,
                      "embedded_models": len(embedded.embeddings) - embedded.reused,
                      "stage_seconds": seconds}
  if not embeddings:
    return analysis, failures

  stages = _Stages(analysis, seconds)
  structures: structure_lib.Structures | None = None
  matrices: pairwise_lib.PairwiseMatrices | None = None
  with stages.stage("pairwise"):
    channels = pairwise_lib.selected_channels(embeddings,
                                              include_inactive=options.include_inactive)
    matrices = pairwise_lib.ensemble_pairwise(embeddings, cache_dir=cache_dir, channels=channels,
                                              client=client, progress=options.progress)
    analysis.details.update({"pairwise_cached": matrices.cached,
                             "pairwise_channels": int(matrices.channels.size)})
  if "pairwise_channels" in analysis.details:
    with stages.stage("optics"):
      structures = structure_lib.find_structures(
          embeddings, matrices, min_samples=options.min_samples,
          per_hyperparameter=options.per_hyperparameter)
  primary = structures[structure_lib.HOTSPOT_DISTANCE]["all"] if structures else None
  resampled, stability = None, None
  if structures and options.resamples:
    with stages.stage("resampling"):
      resampled = uncertainty.resample_groups(embeddings, structures,
                                              min_samples=options.min_samples,
                                              resamples=options.resamples,
                                              seed=options.resample_seed)
      stability = uncertainty.stability_of(resampled, structures)
  if structures:
    with stages.stage("figures"):
      analysis.figures = figures_lib.write_figures(dataset, structures, embeddings, sample,
                                                   loader, output_dir, stability=stability)
  fusion_reports: dict[str, dict] = {}
  if options.fusion and primary is not None:
    with stages.stage("fusion"):
      fusion_reports = fusion_runs.run_fusion(embeddings, primary, sample, dim=options.fusion_dim,
                                              steps=options.fusion_steps,
                                              points=options.fusion_points)
      analysis.fusion = fusion_runs.fusion_rows(dataset, fusion_reports)
  analysis.models = tables.model_rows(embeddings, metric_rows, primary, sample.factor_names,
                                        options.metrics,
                                        {f.model_dir: f.reason for f in metric_failures})
  with stages.stage("udr"):
    groups: dict[str, list] = {}
    for e in embeddings:
      groups.setdefault(structure_lib.hyperparameter_label(e.info), []).append(
          (e.info.model_dir, e.mean, e.logvar))
    matrices_by_group: dict[str, dict] = {}
    udr_scores = udr_group.udr_columns(groups, matrices_by_group)
    names = {e.info.model_dir: e.info.name for e in embeddings}
    for group in matrices_by_group.values():
      group["models"] = [names[m] for m in group["models"]]
    analysis.details["udr"] = matrices_by_group
    for row, e in zip(analysis.models, embeddings):
      row.update(udr_scores.get(e.info.model_dir, {}))
  if options.spaces or options.model_similarity:
    with stages.stage("spaces"):
      spaces = spaces_stage.analyse_spaces(dataset, embeddings, sample, fusion_reports, options,
                                           loader)
      for failure in spaces.pop("failures", []):
        analysis.stage_failures.append(StageFailure(dataset, *failure))
      analysis.spaces = spaces.pop("spaces", [])
      analysis.model_similarity = spaces.pop("model_similarity", [])
      analysis.details.update(spaces)
  if structures:
    with stages.stage("tables"):
      if options.per_hyperparameter:
        analysis.groups = tables.group_rows(dataset, structures, embeddings, analysis.models,
                                              sample.factor_names)
      analysis.hotspots = tables.hotspot_rows(dataset, structures, embeddings,
                                                sample.factor_names)
    analysis.details["structures"] = {
        distance: {group: s.to_dict() for group, s in by_group.items()}
        for distance, by_group in structures.items()}
  _error_bars(analysis, embeddings, sample, structures, matrices, resampled, stability, options,
              cache_dir, stages)
  analysis.details["figures"] = analysis.figures
  if fusion_reports:
    analysis.details["fusion"] = fusion_reports
  return analysis, failures


def _error_bars(analysis: DatasetAnalysis, embeddings: Sequence[embedding_lib.ModelEmbedding],
                sample: sample_lib.FingerprintSample,
                structures: structure_lib.Structures | None,
                matrices: pairwise_lib.PairwiseMatrices | None,
                resampled: dict | None, stability: dict | None,
                options: options_lib.EvaluationOptions, cache_dir: str, stages: _Stages) -> None:
  """Chance levels, intervals and hotspot stability on the rows, the per-group metric means
  and the model-selection table (each stage isolated like the others)."""
  factor_null, pair_null = None, None
  if options.permutations:
    with stages.stage("chance"):
      factor_null = uncertainty.factor_nulls(embeddings, sample.factors, cache_dir=cache_dir,
                                             permutations=options.permutations,
                                             seed=options.resample_seed)
      uncertainty.add_model_chance(analysis.models, embeddings, factor_null)
      if structures:
        pair_null = uncertainty.hotspot_pair_nulls(embeddings, structures,
                                                   permutations=options.permutations,
                                                   seed=options.resample_seed)
  with stages.stage("intervals"):
    if structures:
      uncertainty.add_hotspot_columns(analysis.hotspots, structures, stability, factor_null,
                                      pair_null, sample.factor_names)
      if pair_null is not None:
        uncertainty.add_group_chance(analysis.groups, analysis.hotspots, pair_null)
      if resampled is not None:
        uncertainty.add_group_intervals(analysis.groups, resampled, analysis.models, embeddings)
    metric_names = [column for _, _, column in registry.metric_columns(options.metrics)]
    if options.per_hyperparameter and metric_names:
      analysis.metrics_by_hyperparameter = uncertainty.metric_group_rows(
          analysis.dataset, embeddings, analysis.models, metric_names,
          resamples=options.resamples, seed=options.resample_seed)
    if analysis.spaces:
      analysis.spaces += uncertainty.space_group_rows(
          analysis.dataset, embeddings, analysis.spaces, resamples=options.resamples,
          seed=options.resample_seed)
  if not selection_lib.supervised_columns(options.metrics):
    return  # no supervised metric to rank against
  with stages.stage("selection"):
    analysis.selection = selection_lib.dataset_selection(
        analysis.dataset, embeddings, analysis.models, options.metrics, matrices=matrices,
        space_rows=analysis.spaces, resamples=options.resamples, seed=options.resample_seed)


def analyse_zoo(model_dirs: Sequence[str], options: options_lib.EvaluationOptions,
                *, loader: models_lib.ModelLoader | None = None,
                known_failures: Sequence[models_lib.ModelFailure] = ()) -> ZooAnalysis:
  """The whole analysis of a run (``options.output_dir`` must be set).

  Parameters
  ----------
  model_dirs : sequence of str
      The models; a folder given twice is analysed once and reported as a duplicate.
  known_failures : sequence of ModelFailure
      Models that failed before the analysis (e.g. `models.failed_trainings` of a sweep's
      zoo): reported with the others.

  Raises
  ------
  EvaluationInputError
      When a dataset's fingerprint (or --spaces_points) sample cannot fit, or the scheduler
      cannot be reached (before any model is touched).
  """
  if not options.output_dir:
    raise EvaluationInputError("the ensemble analysis needs --output_dir.")
  os.makedirs(options.output_dir, exist_ok=True)
  loader = loader or models_lib.ModelLoader()
  if options.scheduler.kind != "none":
    try:
      with scheduler.connect(options.scheduler) as client:
        try:
          scheduler.check_shared_path(client, options.output_dir)
        except scheduler.SharedPathError as error:
          raise EvaluationInputError(str(error)) from error
        return _analyse(model_dirs, options, loader, client, known_failures)
    except ConnectionError as error:
      raise EvaluationInputError(f"--scheduler={options.scheduler}: "
                                 f"{models_lib.first_line(error)}") from error
  return _analyse(model_dirs, options, loader, None, known_failures)


def _analyse(model_dirs: Sequence[str], options: options_lib.EvaluationOptions,
             loader: models_lib.ModelLoader, client: Any,
             known_failures: Sequence[models_lib.ModelFailure]) -> ZooAnalysis:
  infos, failures = models_lib.read_models(model_dirs, dataset_override=options.dataset_override)
  failures = list(known_failures) + failures
  by_dataset = models_lib.by_dataset(infos)
  try:
    sample_lib.check_samples_fit(list(by_dataset), options.fingerprint_size)
    if options.spaces_points:
      sample_lib.check_samples_fit(list(by_dataset), options.spaces_points,
                                   flag="--spaces_points")
  except (ValueError, FileNotFoundError) as error:
    raise EvaluationInputError(models_lib.first_line(error)) from error
  analyses = {}
  for dataset, dataset_infos in by_dataset.items():
    try:
      analysis, dataset_failures = analyse_dataset(dataset, dataset_infos, options, loader,
                                                   client=client)
    except (ValueError, FileNotFoundError) as error:  # its sample could not be drawn
      failures += [models_lib.ModelFailure(info.model_dir,
                                           f"dataset {dataset}: {models_lib.first_line(error)}")
                   for info in dataset_infos]
      continue
    failures += dataset_failures
    if analysis.models:
      analyses[dataset] = analysis
  return ZooAnalysis(options, analyses, failures, models_lib.same_folder_duplicates(model_dirs))
