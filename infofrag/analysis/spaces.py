"""The whole-space stage of the zoo analysis: which spaces, on which points, and the figure.

Spaces (rows of spaces.csv):
- every model's full latent space;
- per group (hyperparameter value) with two or more models, their latents concatenated;
- every fused space of the fusion stage (on the fusion's points);
and, with `model_similarity`, Monte Carlo NMI/VI between every pair of a group's models.
The numbers themselves come from `infofrag.fragments.whole_spaces`.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from infofrag.analysis import embedding as embedding_lib
from infofrag.analysis import options as options_lib
from infofrag.analysis import sample as sample_lib
from infofrag.analysis import structure as structure_lib
from infofrag.analysis import tables
from infofrag.fragments import whole_spaces as spaces_lib
from infofrag.reports import figures as figures_lib
from infofrag.utils import io
from infofrag.utils import layout
from infofrag.zoo import loading as models_lib


def embed_means(model_dirs: Sequence[str], observations: np.ndarray, *, cache_dir: str,
                loader: models_lib.ModelLoader, progress: bool = True
                ) -> list[tuple[np.ndarray, np.ndarray]]:
  """[(mean, logvar)] of each model on `observations`, cached as cache_dir/means-<key>.npz."""
  from tqdm import tqdm
  result = []
  for model_dir in tqdm(model_dirs, desc="embedding (spaces)", unit="model",
                        disable=not progress, file=sys.stderr):
    path = layout.means_cache(cache_dir, embedding_lib.model_key(model_dir))
    stored = io.load_npz_or_set_aside(path, ("mean", "logvar"))
    if stored is not None:
      result.append((stored["mean"], stored["logvar"]))
      continue
    mean, logvar = loader.load(model_dir).encode(observations)
    mean, logvar = mean.astype(np.float64), logvar.astype(np.float64)
    embedding_lib.check_posteriors(mean, logvar, model=model_dir)
    with io.atomic_path(path) as tmp:
      np.savez(tmp, mean=mean, logvar=logvar)
    result.append((mean, logvar))
  return result


def build_spaces(names: Sequence[str], methods: Sequence[str], group_of: Sequence[str],
                 posteriors: Sequence) -> list[spaces_lib.Space]:
  """Model spaces, then one concatenation per group of two or more models."""
  models = [spaces_lib.Space(name, "model", mean, logvar, method=method)
            for name, method, (mean, logvar) in zip(names, methods, posteriors)]
  result = list(models)
  for group in dict.fromkeys(group_of):
    members = [m for m, g in zip(models, group_of) if g == group]
    if len(members) >= 2:
      result.append(spaces_lib.concatenate(members, f"{group} ({len(members)} models)"))
  return result


def fused_spaces(fusion_reports: dict) -> list[spaces_lib.Space]:
  """The fused spaces of the fusion stage (each on its own first `num_points` points)."""
  result = []
  for target, report in fusion_reports.items():
    posteriors = report.get("fused_posteriors")
    if posteriors:
      result.append(spaces_lib.Space(f"fused {target}", "fused",
                                     np.asarray(posteriors["mus"], dtype=np.float64),
                                     np.asarray(posteriors["logvars"], dtype=np.float64),
                                     members=int(report["num_members"]), method="fusion"))
  return result


def space_rows(dataset: str, spaces: Sequence[spaces_lib.Space], factors: np.ndarray,
               factor_names: Sequence[str], *, num_samples: int, seed: int,
               failures: list[tuple[str, str, str]], progress: bool = True) -> list[dict]:
  """One `tables.space_row` per space; a fused space uses the first points it was fused on.

  A space whose row cannot be computed is left out and recorded in `failures` as
  ("spaces", space name, reason); the other rows are kept.
  """
  from tqdm import tqdm
  rows = []
  for space in tqdm(spaces, desc="whole spaces (Monte Carlo)", unit="space", disable=not progress,
                    file=sys.stderr):
    points = space.mean.shape[0]
    with _isolated(failures, "spaces", space.name):
      rows.append(tables.space_row(space, factors[:points], factor_names,
                                       num_samples=num_samples, seed=seed, dataset=dataset))
  return rows


@contextlib.contextmanager
def _isolated(failures: list[tuple[str, str, str]], stage: str, subject: str) -> Iterator[None]:
  """Records an error of one space or group as (stage, subject, first line) and goes on."""
  try:
    yield
  except (ValueError, ArithmeticError, FloatingPointError, np.linalg.LinAlgError) as error:
    failures.append((stage, subject, (str(error).strip().splitlines() or [repr(error)])[0]))


def similarity_by_group(names: Sequence[str], group_of: Sequence[str], posteriors: Sequence, *,
                        num_samples: int, seed: int,
                        failures: list[tuple[str, str, str]]) -> dict[str, dict]:
  """`spaces.model_similarity` of every group with two or more models; a group that fails
  is recorded in `failures` as ("model_similarity", group, reason)."""
  result = {}
  for group in dict.fromkeys(group_of):
    members = [spaces_lib.Space(n, "model", *p)
               for n, g, p in zip(names, group_of, posteriors) if g == group]
    if len(members) >= 2:
      with _isolated(failures, "model_similarity", group):
        result[group] = spaces_lib.model_similarity(members, num_samples=num_samples, seed=seed)
  return result


def plot_similarity(similarity: dict[str, dict], path: str) -> str:
  """Heat maps of the pairwise model NMI, one panel per group, with colorbars (PNG)."""
  import matplotlib
  from matplotlib import pyplot as plt
  groups = list(similarity)
  fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), squeeze=False)
  for axis, group in zip(axes[0], groups):
    result = similarity[group]
    matrix = np.array(result["nmi"], dtype=np.float64)
    np.fill_diagonal(matrix, 1.0)
    # Pairs below the information floor stay NaN: drawn in grey, never as a value.
    colours = matplotlib.colormaps["magma_r"].with_extremes(bad="0.8")
    image = axis.imshow(np.ma.masked_invalid(matrix), cmap=colours, vmin=0, vmax=1)
    ticks = np.arange(len(result["names"]))
    axis.set_xticks(ticks, result["names"], fontsize=6, rotation=90)
    axis.set_yticks(ticks, result["names"], fontsize=6)
    axis.set_xlabel("model")
    axis.set_ylabel("model")
    combined = result["combined"]
    axis.set_title(f"{group}\nNMI {combined['nmi']:.3f} ± {combined['nmi_err']:.3f}, "
                   f"VI {combined['vi_bits']:.2f} ± {combined['vi_err']:.2f} bits", fontsize=8)
    fig.colorbar(image, ax=axis, label="Monte Carlo NMI")
  return figures_lib.save_figure(fig, path)


def analyse_spaces(dataset: str, embeddings: Sequence[embedding_lib.ModelEmbedding],
                   sample: sample_lib.FingerprintSample,
                   fusion_reports: Mapping[str, Mapping[str, Any]],
                   options: options_lib.EvaluationOptions, loader: models_lib.ModelLoader
                   ) -> dict[str, Any]:
  """Whole-space rows and model-pair similarity of one dataset's ensemble (JSON-able).

  On the fingerprint sample's first ``options.spaces_points`` points (all when 0); more
  points than the fingerprint sample draw a sample of their own, embedded once.
  """
  names = [e.info.name for e in embeddings]
  group_of = [structure_lib.hyperparameter_label(e.info) for e in embeddings]
  points = options.spaces_points or sample.size
  if points <= sample.size:
    space_sample = sample
    posteriors = [(e.mean[:points], e.logvar[:points]) for e in embeddings]
  else:
    space_sample = sample_lib.fingerprint_sample(dataset, size=points, seed=options.fingerprint_seed,
                                                 output_dir=options.output_dir)
    posteriors = embed_means([e.info.model_dir for e in embeddings], space_sample.observations,
                             cache_dir=layout.cache_dir(options.output_dir, space_sample.key),
                             loader=loader, progress=options.progress)
  factors = space_sample.factors[:points]
  failures: list[tuple[str, str, str]] = []
  result: dict[str, Any] = {"spaces_points": points, "spaces_sample": space_sample.path,
                            "failures": failures}
  if options.spaces:
    spaces = build_spaces(names, [e.info.method_label for e in embeddings], group_of, posteriors)
    spaces += fused_spaces(fusion_reports)
    result["spaces"] = space_rows(dataset, spaces, factors, sample.factor_names,
                                  num_samples=options.mc_samples, seed=options.mc_seed,
                                  failures=failures, progress=options.progress)
  if options.model_similarity:
    similarity = similarity_by_group(names, group_of, posteriors, num_samples=options.mc_samples,
                                     seed=options.mc_seed, failures=failures)
    result["model_similarity"] = tables.similarity_rows(dataset, similarity)
    if similarity:
      result["model_similarity_figure"] = plot_similarity(
          similarity, layout.figure_path(options.output_dir, dataset,
                                     layout.MODEL_SIMILARITY_FIGURE))
  return result
