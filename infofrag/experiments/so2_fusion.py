"""The paper's SO(2) fusion experiment: weak 1-D beta-VAEs on `circle`, fused in 2-D.

Steps:
  1. train `repeats * max(sizes)` 1-D beta-VAEs on the circle as an ordinary training
     sweep (`infofrag.training.sweep`; the paper's config
     `gin_configs/circle/beta_vae_circle.gin`, model k with model.random_seed = k, into
     OUTPUT/models/<k>; finished models trained with the same config are reused);
  2. fingerprint each learner on N evenly spaced angles (Bhattacharyya distances of its
     posteriors, `infofrag.fragments`);
  3. for every objective and ensemble size, fuse the first `size` learners of each
     repeat's disjoint block of max(sizes) learners into 2-D (`infofrag.fusion.fuse`);
  4. score each fused space by its continuity along the circle (`infofrag.fusion.curve`).

Outputs (written atomically): fusion_table.csv / .md, continuity_vs_size.png,
fused_embeddings.png, fingerprints.npz. The `infofrag.fusion` package itself stays free
of training code: this module is where the two meet.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Sequence

import numpy as np

from infofrag import fragments
from infofrag.data.ground_truth import circle
from infofrag.distributed import scheduler as scheduler_lib
from infofrag.distributed import training
from infofrag.fusion import curve
from infofrag.fusion import optimize
from infofrag.reports import figures as figures_lib
from infofrag.reports import tables
from infofrag.training import sweep
from infofrag.utils import io
from infofrag.utils import paths
from infofrag.zoo import saved_model

DEFAULT_OBJECTIVES = ("info", "vi", "nmi")
TABLE_COLUMNS = ("objective", "ensemble_size", "repeats", "continuity_mean", "continuity_std",
                 "fused_info_bits_mean", "member_info_bits_mean", "member_info_bits_max")
TABLE_NOTE = ("Continuity: max adjacent Bhattacharyya distance / its 90th percentile (1 = even circle). "
              "Information in bits on the fingerprint points.")


class LearnerTrainingError(RuntimeError):
  """A weak learner could not be trained (the message names it and its log)."""


def default_gin_config() -> str:
  """Path of the shipped circle weak-learner config (source tree or installed share/)."""
  return paths.gin_config_path("circle", "beta_vae_circle.gin")


def fingerprint_angles(num_points: int) -> np.ndarray:
  """[N] float64 evenly spaced angles in [0, 2 pi), radians."""
  return np.linspace(0.0, 2.0 * np.pi, num_points, endpoint=False)


def models_root(output_dir: str) -> str:
  """Folder of the weak learners (learner k in <root>/<k>, the sweep layout)."""
  return os.path.join(output_dir, "models")


def learner_sweep(num_models: int, *, gin_configs: Sequence[str] = (),
                  extra_bindings: Sequence[str] = ()) -> list:
  """The weak learners as a training sweep: model k is the config with model.random_seed = k.

  Parameters
  ----------
  num_models : int >= 1, learners 0 .. num_models - 1.
  gin_configs : sequence of str, the weak-learner config files, parsed in order (default: the
    shipped circle config).
  extra_bindings : gin bindings applied to every learner, e.g. "model.training_steps = 300".

  Returns
  -------
  list of `infofrag.training.sweep.SweepModel`, numbered 0 .. num_models - 1.
  """
  if int(num_models) < 1:
    raise ValueError(f"the experiment needs at least 1 weak learner; got {num_models}.")
  gin_configs = list(gin_configs) or [default_gin_config()]
  for gin_config in gin_configs:
    if not os.path.isfile(gin_config):
      raise FileNotFoundError(f"weak-learner config not found: {gin_config}")
  return sweep.expand_grid(gin_configs, [], list(range(int(num_models))),
                           extra_bindings=list(extra_bindings))


def train_weak_learners(output_dir: str, num_models: int, *, gin_configs: Sequence[str] = (),
                        extra_bindings: Sequence[str] = (), processes: int = 2,
                        scheduler: scheduler_lib.SchedulerSpec = scheduler_lib.IN_PROCESS,
                        progress: bool = True) -> list[str]:
  """Trains (or reuses) the weak learners as a sweep (local processes, or Dask).

  Parameters
  ----------
  output_dir : str, the experiment folder (learners go to output_dir/models/<k>).
  num_models : int, learners 0 .. num_models - 1 (learner k: model.random_seed = k).
  gin_configs : sequence of str, the weak-learner configs (default: the shipped circle config).
  extra_bindings : gin bindings for every learner (e.g. training steps, batch size).
  processes : int, trainings at once (one process each) without a scheduler.
  scheduler : SchedulerSpec, the parsed --scheduler ("none": local processes; see
    infofrag.distributed.scheduler).
  progress : bool, show the sweep's progress bar.

  Returns
  -------
  list of str, the learners' model directories in seed order.

  Raises
  ------
  LearnerTrainingError if a learner failed to train or a finished one was trained with another
  config.
  """
  models = learner_sweep(num_models, gin_configs=gin_configs, extra_bindings=extra_bindings)
  root = models_root(output_dir)
  conflicts = sweep.check_finished_models(models, root)
  if conflicts:
    number = min(conflicts)
    differences = "; ".join(sweep.config_differences(models[number], root))
    raise LearnerTrainingError(
        f"{models[number].model_dir(root)} was trained with another config ({differences}); "
        f"give another output folder, or delete {root} to retrain the learners.")
  status = training.train_sweep(models, root, scheduler_spec=scheduler, processes=processes,
                                progress=progress)
  failed = {number: text for number, text in status.items() if text not in ("trained", "skipped")}
  if failed:
    number = min(failed)
    raise LearnerTrainingError(f"{len(failed)} of {len(models)} weak learners were not trained; "
                       f"learner {number}: {failed[number]}")
  return [model.model_dir(root) for model in models]


def encode_circle(model_dir: str, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Posteriors of a trained circle model at `angles`: (mean, logvar), [N, latent] float64 each."""
  model = saved_model.load_model(model_dir)
  model.check_observation_shape([2])
  mean, logvar = model.encode(circle.circle_points(angles), batch_size=len(angles))
  return mean.astype(np.float64), logvar.astype(np.float64)


def fingerprint_models(model_dirs: Sequence[str], num_points: int) -> np.ndarray:
  """[K, N, N] float64 fingerprints (nats) of the models on N evenly spaced angles."""
  if int(num_points) < 3:
    raise ValueError(f"the circle needs at least 3 fingerprint points; got {num_points}.")
  angles = fingerprint_angles(int(num_points))
  return np.stack([fragments.bhattacharyya_distances(*encode_circle(d, angles)) for d in model_dirs])


@dataclasses.dataclass
class FusionRun:
  """One fused ensemble: objective, size, repeat, fused posteriors [N, dim], scores."""
  objective: str
  ensemble_size: int
  repeat: int
  mus: np.ndarray
  logvars: np.ndarray
  continuity: float
  fused_info_bits: float
  member_info_bits: np.ndarray


def check_plan(num_learners: int, sizes: Sequence[int], repeats: int) -> list[int]:
  """Sorted distinct sizes; repeats use disjoint blocks of max(sizes) learners, as in the paper.

  Raises
  ------
  ValueError if a size is below 1, repeats is below 1, or there are too few learners.
  """
  sizes = sorted({int(s) for s in sizes})
  if not sizes or sizes[0] < 1:
    raise ValueError(f"ensemble sizes must be integers >= 1; got {sizes}.")
  if repeats < 1:
    raise ValueError(f"repeats must be >= 1; got {repeats}.")
  needed = repeats * sizes[-1]
  if num_learners < needed:
    raise ValueError(f"{repeats} repeats of ensembles up to size {sizes[-1]} need {needed} weak learners; "
                     f"got {num_learners}.")
  return sizes


def run_fusions(fingerprints: np.ndarray, sizes: Sequence[int], repeats: int, *,
                objectives: Sequence[str] = DEFAULT_OBJECTIVES, steps: int = 20000,
                learning_rate: float = 3.0, dim: int = 2, seed: int = 0,
                log: Callable[[str], None] = print) -> list[FusionRun]:
  """Fuses every (objective, size, repeat).

  Parameters
  ----------
  fingerprints : [K, N, N] float64, the weak learners' fingerprints in training order.
  sizes, repeats : ensemble sizes; repeat r uses learners r*max(sizes) .. r*max(sizes)+size-1.
  objectives : fusion objectives ("info", "vi", "nmi").
  steps, learning_rate, dim : `infofrag.fusion.fuse` settings (paper: 20,000, 3.0 SGD, 2).
  seed : int, repeat r initialises the fused space with seed + r.
  log : called with one line per fusion.

  Returns
  -------
  list of FusionRun.
  """
  sizes = check_plan(len(fingerprints), sizes, repeats)
  member_info = np.asarray(fragments.information(fingerprints))
  runs = []
  for objective in objectives:
    for size in sizes:
      for repeat in range(repeats):
        block = slice(repeat * sizes[-1], repeat * sizes[-1] + size)
        result = optimize.fuse(fingerprints[block], dim=dim, objective=objective, steps=steps,
                               learning_rate=learning_rate, seed=seed + repeat)
        fused = fragments.bhattacharyya_distances(result.mus, result.logvars)
        runs.append(FusionRun(objective, size, repeat, result.mus, result.logvars,
                              curve.continuity(result.mus, result.logvars),
                              float(fragments.information(fused)), member_info[block]))
        log(f"{objective:>4} size {size:>3} repeat {repeat}: continuity {runs[-1].continuity:.3g}, "
            f"fused {runs[-1].fused_info_bits:.3f} bits ({result.seconds:.1f} s)")
  return runs


def summarise(runs: Sequence[FusionRun]) -> list[dict[str, object]]:
  """Table rows (dicts with TABLE_COLUMNS), one per (objective, ensemble size)."""
  rows = []
  keys = sorted({(r.objective, r.ensemble_size) for r in runs},
                key=lambda k: (DEFAULT_OBJECTIVES.index(k[0]) if k[0] in DEFAULT_OBJECTIVES else 9, k[1]))
  for objective, size in keys:
    group = [r for r in runs if r.objective == objective and r.ensemble_size == size]
    scores = np.array([r.continuity for r in group])
    rows.append({
        "objective": objective, "ensemble_size": size, "repeats": len(group),
        "continuity_mean": float(scores.mean()), "continuity_std": float(scores.std()),
        "fused_info_bits_mean": float(np.mean([r.fused_info_bits for r in group])),
        "member_info_bits_mean": float(np.mean([r.member_info_bits.mean() for r in group])),
        "member_info_bits_max": float(np.mean([r.member_info_bits.max() for r in group]))})
  return rows


def write_tables(rows: Sequence[dict[str, object]], output_dir: str) -> tuple[str, str, str]:
  """fusion_table.csv and fusion_table.md (`infofrag.reports.tables`); returns both paths and the
  Markdown text."""
  csv_path = tables.write_csv(os.path.join(output_dir, "fusion_table.csv"), rows, list(TABLE_COLUMNS))
  md_text = TABLE_NOTE + "\n\n" + tables.markdown_table(rows, list(TABLE_COLUMNS), digits=3) + "\n"
  md_path = tables.write_markdown(os.path.join(output_dir, "fusion_table.md"), md_text)
  return csv_path, md_path, md_text


def plot_continuity(rows: Sequence[dict[str, object]], path: str) -> str:
  """The paper's figure: continuity (log) vs ensemble size (log), one line per objective (PNG)."""
  import matplotlib
  import matplotlib.pyplot as plt
  import matplotlib.ticker
  figure, axis = plt.subplots(figsize=(7, 4))
  objectives = [o for o in DEFAULT_OBJECTIVES if any(r["objective"] == o for r in rows)]
  for k, objective in enumerate(objectives):
    mine = [r for r in rows if r["objective"] == objective]
    sizes = np.array([r["ensemble_size"] for r in mine], dtype=float)
    # Small horizontal offsets keep the error bars of the objectives apart (as in the paper).
    axis.errorbar(sizes * 1.1**(k - 1), [r["continuity_mean"] for r in mine],
                  yerr=[r["continuity_std"] for r in mine], marker="dos"[k % 3], lw=2, label=objective)
  sizes = sorted({r["ensemble_size"] for r in rows})
  axis.set_xscale("log")
  axis.set_yscale("log")
  axis.set_xticks(sizes, [str(s) for s in sizes])
  axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
  plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
  axis.yaxis.set_major_formatter(plain)
  axis.yaxis.set_minor_formatter(plain)
  axis.set_xlabel("Ensemble size")
  axis.set_ylabel("Continuity (max / 90th pct. adjacent distance)")
  axis.legend()
  return figures_lib.save_figure(figure, path, dpi=120)


def plot_embeddings(runs: Sequence[FusionRun], path: str, *, repeat: int = 0) -> str:
  """Grid of fused 2-D embeddings (objective x ensemble size), points coloured by angle (PNG)."""
  import matplotlib.pyplot as plt
  chosen = [r for r in runs if r.repeat == repeat]
  objectives = [o for o in DEFAULT_OBJECTIVES if any(r.objective == o for r in chosen)]
  sizes = sorted({r.ensemble_size for r in chosen})
  figure, axes = plt.subplots(len(objectives), len(sizes), figsize=(2.2 * len(sizes), 2.2 * len(objectives)),
                              squeeze=False)
  for run in chosen:
    axis = axes[objectives.index(run.objective), sizes.index(run.ensemble_size)]
    points = run.mus if run.mus.shape[1] >= 2 else np.hstack([run.mus, np.zeros_like(run.mus)])
    axis.scatter(points[:, 0], points[:, 1], c=np.linspace(0, 1, len(points)), cmap="hsv", s=6)
    axis.set_title(f"{run.objective}, M={run.ensemble_size}\ncont. {run.continuity:.3g}", fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])
  return figures_lib.save_figure(figure, path, dpi=100)


def save_fingerprints(fingerprints: np.ndarray, path: str) -> str:
  """fingerprints.npz ([K, N, N] float64 and the angles) for later re-analysis; returns the path."""
  angles = fingerprint_angles(fingerprints.shape[1])
  with io.atomic_path(path) as temp:
    np.savez(temp, fingerprints=fingerprints, angles=angles)
  return path


def report_from_fingerprints(fingerprints: np.ndarray, output_dir: str, sizes: Sequence[int],
                             repeats: int, *, objectives: Sequence[str] = DEFAULT_OBJECTIVES,
                             steps: int = 20000, learning_rate: float = 3.0, seed: int = 0,
                             log: Callable[[str], None] = print) -> list[dict[str, object]]:
  """Fusion table, plots and rows from given learner fingerprints [K, N, N]; returns the rows."""
  runs = run_fusions(fingerprints, sizes, repeats, objectives=objectives, steps=steps,
                     learning_rate=learning_rate, seed=seed, log=log)
  rows = summarise(runs)
  write_tables(rows, output_dir)
  plot_continuity(rows, os.path.join(output_dir, "continuity_vs_size.png"))
  plot_embeddings(runs, os.path.join(output_dir, "fused_embeddings.png"))
  return rows


def run(output_dir: str, *, sizes: Sequence[int], repeats: int,
        objectives: Sequence[str] = DEFAULT_OBJECTIVES, fusion_steps: int = 20000,
        learning_rate: float = 3.0, num_points: int = 200, gin_configs: Sequence[str] = (),
        extra_bindings: Sequence[str] = (), processes: int = 2,
        scheduler: scheduler_lib.SchedulerSpec = scheduler_lib.IN_PROCESS, seed: int = 0,
        progress: bool = True, log: Callable[[str], None] = print) -> list[dict[str, object]]:
  """The whole experiment: train (or reuse) the learners, fingerprint, fuse, write the outputs.

  Parameters
  ----------
  output_dir : str, folder for models/, the tables, figures and fingerprints.npz.
  sizes, repeats : ensemble sizes and repeats (disjoint blocks of max(sizes) learners each).
  objectives, fusion_steps, learning_rate : fusion settings (see `run_fusions`).
  num_points : int >= 3, evenly spaced fingerprint angles N.
  gin_configs, extra_bindings, processes, scheduler, progress : weak-learner training (see
    `train_weak_learners`).
  seed : int, seed of the fusion initialisations.
  log : called with progress lines.

  Returns
  -------
  list of table rows (see `summarise`).
  """
  sizes = check_plan(int(repeats) * max((int(s) for s in sizes), default=0), sizes, repeats)
  if int(num_points) < 3:
    raise ValueError(f"the circle needs at least 3 fingerprint points; got {num_points}.")
  os.makedirs(output_dir, exist_ok=True)
  model_dirs = train_weak_learners(output_dir, repeats * sizes[-1], gin_configs=gin_configs,
                                   extra_bindings=extra_bindings, processes=processes,
                                   scheduler=scheduler, progress=progress)
  fingerprints = fingerprint_models(model_dirs, num_points)
  save_fingerprints(fingerprints, os.path.join(output_dir, "fingerprints.npz"))
  return report_from_fingerprints(fingerprints, output_dir, sizes, repeats, objectives=objectives,
                                  steps=fusion_steps, learning_rate=learning_rate, seed=seed, log=log)
