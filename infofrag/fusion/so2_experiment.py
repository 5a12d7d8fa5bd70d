"""The paper's SO(2) fusion experiment: weak 1-D beta-VAEs on `circle`, fused in 2-D.

Steps: train `repeats * max(sizes)` 1-D beta-VAEs on the circle (the paper's
config, `gin_configs/circle/beta_vae_circle.gin`, seeds 0, 1, ...; finished models
in the output folder are reused), fingerprint each on N evenly spaced angles,
fuse the first `size` learners of each repeat's disjoint block for every
ensemble size and objective, and score each fused space by its continuity.
Outputs (written atomically): fusion_table.csv / .md, continuity_vs_size.png,
fused_embeddings.png, fingerprints.npz. TensorFlow is only needed for training,
fingerprinting and `fuse`.
"""

import dataclasses
import os

import numpy as np

from infofrag import fragments
from infofrag.fusion import curve
from infofrag.fusion import optimize
from infofrag.utils import io

DEFAULT_SIZES = (2, 3, 5, 10, 15, 20, 30, 50)
DEFAULT_OBJECTIVES = ("info", "vi", "nmi")
TABLE_COLUMNS = ("objective", "ensemble_size", "repeats", "continuity_mean", "continuity_std",
                 "fused_info_bits_mean", "member_info_bits_mean", "member_info_bits_max")


def default_gin_config():
  """Path of the shipped circle weak-learner config (source tree or installed share/)."""
  from infofrag.utils import paths  # pylint: disable=g-import-not-at-top
  return paths.gin_config_path("circle", "beta_vae_circle.gin")


def fingerprint_angles(num_points):
  """[N] float64 evenly spaced angles in [0, 2 pi), radians."""
  return np.linspace(0.0, 2.0 * np.pi, num_points, endpoint=False)


def model_dir_for(output_dir, index):
  """Folder of weak learner `index` (trained with model.random_seed = index)."""
  return os.path.join(output_dir, "models", str(index))


def is_trained(model_dir):
  """True when the model's SavedModel was exported (the run finished)."""
  return os.path.isfile(os.path.join(model_dir, "model", "tfhub", "saved_model.pb"))


def train_weak_learners(output_dir, num_models, training_steps=None, gin_config=None, progress=False,
                        log=print):
  """Trains (or reuses) `num_models` circle weak learners; returns their model dirs.

  Parameters
  ----------
  output_dir : str, the experiment folder (models go to output_dir/models/<k>).
  num_models : int, learners 0..num_models-1; learner k uses model.random_seed = k.
  training_steps : int or None, overrides model.training_steps (paper: 3000).
  gin_config : str or None, the weak-learner config (default: the shipped circle config).
  """
  from infofrag.training import train as train_lib  # pylint: disable=g-import-not-at-top
  gin_config = gin_config or default_gin_config()
  dirs = []
  for index in range(num_models):
    model_dir = model_dir_for(output_dir, index)
    dirs.append(model_dir)
    if is_trained(model_dir):
      continue
    bindings = [f"model.random_seed = {index}"]
    if training_steps is not None:
      bindings.append(f"model.training_steps = {int(training_steps)}")
    log(f"training weak learner {index + 1}/{num_models} -> {model_dir}")
    train_lib.train_with_gin(model_dir, overwrite=True, gin_config_files=[gin_config],
                             gin_bindings=bindings, options=train_lib.LoopOptions(progress=progress))
  return dirs


def encode_circle(model_dir, angles):
  """Posteriors of a trained circle model at `angles`: (mean, logvar), [N, latent] float64 each."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from infofrag.data.ground_truth import circle  # pylint: disable=g-import-not-at-top
  module = tf.saved_model.load(os.path.join(model_dir, "model", "tfhub"))
  outputs = module.signatures["gaussian_encoder"](images=tf.constant(circle.circle_points(angles)))
  return outputs["mean"].numpy().astype(np.float64), outputs["logvar"].numpy().astype(np.float64)


def fingerprint_models(model_dirs, num_points):
  """[K, N, N] float64 fingerprints (nats) of the models on N evenly spaced angles."""
  angles = fingerprint_angles(num_points)
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


def check_plan(num_learners, sizes, repeats):
  """Repeats use disjoint blocks of max(sizes) learners, as in the paper."""
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


def run_fusions(fingerprints, sizes, repeats, objectives=DEFAULT_OBJECTIVES, steps=20000, learning_rate=3.0,
                dim=2, seed=0, log=print):
  """Fuses every (objective, size, repeat); returns a list of FusionRun.

  fingerprints : [K, N, N] float64 weak learners' fingerprints in training order.
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


def summarise(runs):
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


def _atomic_write(path, write):
  """Calls write(temp_path), then renames it onto `path` (see `io.atomic_path`)."""
  with io.atomic_path(path) as temp:
    write(temp)


def _format(value):
  return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_tables(rows, output_dir):
  """fusion_table.csv and fusion_table.md; returns their paths."""
  csv_path = os.path.join(output_dir, "fusion_table.csv")
  md_path = os.path.join(output_dir, "fusion_table.md")
  csv_text = ",".join(TABLE_COLUMNS) + "\n" + "".join(
      ",".join(repr(row[c]) if isinstance(row[c], float) else str(row[c]) for c in TABLE_COLUMNS) + "\n"
      for row in rows)
  md_lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
  md_lines += ["| " + " | ".join(_format(row[c]) for c in TABLE_COLUMNS) + " |" for row in rows]
  md_text = ("Continuity: max adjacent Bhattacharyya distance / its 90th percentile (1 = even circle). "
             "Information in bits on the fingerprint points.\n\n" + "\n".join(md_lines) + "\n")
  for path, text in ((csv_path, csv_text), (md_path, md_text)):
    _atomic_write(path, lambda temp, text=text: open(temp, "w").write(text))
  return csv_path, md_path, md_text


def plot_continuity(rows, path):
  """The paper's figure: continuity (log) vs ensemble size (log), one line per objective."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  import matplotlib.ticker  # pylint: disable=g-import-not-at-top,unused-import
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
  figure.tight_layout()
  _atomic_write(path, lambda temp: figure.savefig(temp, dpi=120, format="png"))
  plt.close(figure)
  return path


def plot_embeddings(runs, path, repeat=0):
  """Grid of fused 2-D embeddings (objective x ensemble size), points coloured by angle."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
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
  figure.tight_layout()
  _atomic_write(path, lambda temp: figure.savefig(temp, dpi=100, format="png"))
  plt.close(figure)
  return path


def save_fingerprints(fingerprints, path):
  """fingerprints.npz ([K, N, N] float64 and the angles) for later re-analysis."""
  angles = fingerprint_angles(fingerprints.shape[1])
  _atomic_write(path, lambda temp: np.savez(temp, fingerprints=fingerprints, angles=angles))
  return path


def report_from_fingerprints(fingerprints, output_dir, sizes, repeats, objectives=DEFAULT_OBJECTIVES,
                             steps=20000, learning_rate=3.0, seed=0, log=print):
  """Fusion table, plots and rows from given learner fingerprints [K, N, N]; returns the rows."""
  runs = run_fusions(fingerprints, sizes, repeats, objectives, steps, learning_rate, seed=seed, log=log)
  rows = summarise(runs)
  write_tables(rows, output_dir)
  plot_continuity(rows, os.path.join(output_dir, "continuity_vs_size.png"))
  plot_embeddings(runs, os.path.join(output_dir, "fused_embeddings.png"))
  return rows
