"""What one evaluation run is asked to do, and the checks made before any work starts.

`EvaluationOptions` is built once by the command line (`infofrag.cli.evaluate`) or by a
program, checked by `check_options`, and read by every stage; no stage sees argparse.
Option names are the command-line flag names, so error messages name the flag to change.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Sequence

from infofrag.data import named_data
from infofrag.distributed import scheduler as scheduler_lib
from infofrag.utils import gin_text

# Metric-size bindings are checked before any work: they must be positive and at most this.
MAX_POINTS = 1_000_000
# Smallest value of each numeric analysis option.
MINIMUMS = {"fingerprint_size": 2, "min_samples": 2, "fusion_dim": 1, "fusion_steps": 0,
            "fusion_points": 2, "mc_samples": 2, "spaces_points": 0, "resamples": 0,
            "permutations": 0}
# Below these (and above 0, which switches them off) intervals and chance levels mean little.
SMALLEST_ON = {"resamples": 2, "permutations": 20}
# Switches of the ensemble analysis: each is an error without --output_dir (never ignored).
ANALYSIS_FLAGS = ("per_hyperparameter", "include_inactive", "fusion", "spaces",
                  "model_similarity")
_SIZE_PARAMETERS = ("num_train", "num_test", "num_eval", "num_variance_estimate",
                    "num_test_points_per_class", "num_data_points")


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
  """Settings of one `infofrag_evaluate` run (defaults: the paper's and dlib's).

  Attributes
  ----------
  metrics : tuple of str
      dlib metric names (resolved, e.g. ``("mig", "sap_score")``); empty for none.
  output_dir : str or None
      Folder of the tables, figures, samples and caches. None: per-model metrics only.
  representation : {"mean", "sampled"}
      dlib's postprocess method.
  gin_config_files, gin_bindings : tuple of str
      Extra gin files and bindings for the metrics (``dataset.name`` overrides the
      dataset of every model).
  overwrite, no_recompute : bool
      Recompute saved results; refuse instead of recomputing a stale one.
  fingerprint_size, fingerprint_seed : int
      Shared fingerprint points per dataset (paper: 1000) and their seed.
  min_samples : int
      OPTICS ``min_samples`` (paper: 20).
  include_inactive : bool
      Let channels with at most 0.01 bits (the paper's cut) into the pairwise stage.
  per_hyperparameter : bool
      Also find hotspots per hyperparameter value.
  fusion, fusion_dim, fusion_steps, fusion_points
      Ensemble fusion into a `fusion_dim`-D space with `fusion_steps` SGD steps on the first
      `fusion_points` fingerprint points (paper: 200).
  spaces, model_similarity, mc_samples, mc_seed, spaces_points
      Whole-space Monte Carlo tables, with `mc_samples` draws per estimate; `spaces_points`
      data points (0: the fingerprint sample).
  resamples, resample_seed : int
      Most resamples of a group's models for its intervals and hotspot stability (the
      delete-d jackknife of `infofrag.analysis.resampling`), and of the models for the
      selection table's bootstrap; 0: no intervals. The seed of their draws.
  permutations : int
      Permutations of the chance levels of NMI (`infofrag.fragments.chance`), seeded by
      `resample_seed`; 0: none.
  scheduler : SchedulerSpec
      Where the heavy work runs: the parsed ``--scheduler`` ("none": this process,
      "local", "local:N", a ``tcp://HOST:PORT`` address or a scheduler file; see
      `infofrag.distributed.scheduler.parse_scheduler`).
  progress : bool
      Progress bars on stderr.
  """
  metrics: tuple[str, ...] = ()
  output_dir: str | None = None
  representation: str = "mean"
  gin_config_files: tuple[str, ...] = ()
  gin_bindings: tuple[str, ...] = ()
  overwrite: bool = False
  no_recompute: bool = False
  fingerprint_size: int = 1000
  fingerprint_seed: int = 0
  min_samples: int = 20
  include_inactive: bool = False
  per_hyperparameter: bool = False
  fusion: bool = False
  fusion_dim: int = 2
  fusion_steps: int = 5000
  fusion_points: int = 200
  spaces: bool = False
  model_similarity: bool = False
  mc_samples: int = 2000
  mc_seed: int = 0
  spaces_points: int = 0
  resamples: int = 200
  resample_seed: int = 0
  permutations: int = 100
  scheduler: scheduler_lib.SchedulerSpec = scheduler_lib.IN_PROCESS
  progress: bool = True

  @property
  def dataset_override(self) -> str | None:
    """The dataset named by a ``dataset.name = '...'`` binding (None for none or 'auto')."""
    name = bound_string(self.gin_bindings, "dataset.name")
    return None if name in (None, "auto") else name

  @property
  def settings(self) -> dict:
    """The analysis settings recorded in results.json."""
    return {"fingerprint_size": self.fingerprint_size, "fingerprint_seed": self.fingerprint_seed,
            "metrics": list(self.metrics), "representation": self.representation,
            "min_samples": self.min_samples, "include_inactive": self.include_inactive,
            "mc_samples": self.mc_samples,
            "mc_seed": self.mc_seed, "spaces_points": self.spaces_points,
            "resamples": self.resamples, "resample_seed": self.resample_seed,
            "permutations": self.permutations}


def bound_string(gin_bindings: Sequence[str], name: str) -> str | None:
  """The string bound to `name` by the last ``name = '...'`` binding, or None."""
  value = None
  for binding in gin_bindings:
    if "=" not in binding:
      continue
    bound, text = gin_text.split_binding(binding)
    parsed = gin_text.parse_value(text)
    if bound == name and isinstance(parsed, str):
      value = parsed
  return value


def check_size_bindings(gin_bindings: Sequence[str]) -> None:
  """Rejects ``num_train`` / ``num_test`` / ``num_eval`` bindings outside [1, MAX_POINTS].

  Raises
  ------
  ValueError
      Naming the binding and the allowed range.
  """
  for binding in gin_bindings:
    if "=" not in binding:
      continue
    name, text = gin_text.split_binding(binding)
    if name.rsplit(".", 1)[-1] not in _SIZE_PARAMETERS:
      continue
    # downstream_task.num_train is a list of sizes, e.g. [10, 100, 1000, 10000].
    texts = text.strip().strip("[]").split(",") if text.strip().startswith("[") else [text]
    for item in texts:
      try:
        value = int(float(item))
      except ValueError:
        raise ValueError(f"--gin_bindings {binding!r}: {name} must be an integer (or a list "
                         "of integers).") from None
      if value < 1 or value > MAX_POINTS:
        raise ValueError(f"--gin_bindings {binding!r}: {name} must be between 1 and "
                         f"{MAX_POINTS:,} (got {value:,}).")


def check_analysis_values(options: EvaluationOptions) -> None:
  """Rejects numeric options below their minimum, seeds outside [0, 2**32), and analysis
  switches without an output folder."""
  for name, minimum in MINIMUMS.items():
    value = getattr(options, name)
    if value < minimum:
      raise ValueError(f"--{name} must be at least {minimum}, got {value}.")
  for name, smallest in SMALLEST_ON.items():
    value = getattr(options, name)
    if 0 < value < smallest:
      raise ValueError(f"--{name} must be 0 (off) or at least {smallest}, got {value}.")
  for name in ("fingerprint_seed", "mc_seed", "resample_seed"):
    value = getattr(options, name)
    if not 0 <= value < 2**32:
      raise ValueError(f"--{name} must be an integer in [0, 2**32), got {value}.")
  needs_folder = [f"--{name}" for name in ANALYSIS_FLAGS if getattr(options, name)]
  if needs_folder and not options.output_dir:
    raise ValueError(f"{', '.join(needs_folder)} need(s) --output_dir (the ensemble analysis "
                     "writes its tables there); add --output_dir=FOLDER.")


def check_environment(options: EvaluationOptions) -> None:
  """One-line errors for what surrounds the run: gin files, dataset name, output folder.

  Creates the output folder (it must be writable anyway).
  """
  for path in options.gin_config_files:
    if not os.path.isfile(path):
      raise FileNotFoundError(f"--gin_config {path}: no such file.")
  name = bound_string(options.gin_bindings, "dataset.name")
  if name is not None and name not in named_data.dataset_names() + ["auto"]:
    raise ValueError(f"--gin_bindings \"dataset.name = '{name}'\": unknown dataset {name!r}; "
                     f"valid names: {', '.join(named_data.dataset_names())}.")
  if options.output_dir:
    if os.path.exists(options.output_dir) and not os.path.isdir(options.output_dir):
      raise ValueError(f"--output_dir {options.output_dir} is a file; give a folder.")
    try:
      os.makedirs(options.output_dir, exist_ok=True)
      with tempfile.TemporaryFile(dir=options.output_dir):
        pass
    except OSError as error:
      raise ValueError(f"--output_dir {options.output_dir} is not writable ({error.strerror}); "
                       "choose another folder.") from None


def check_options(options: EvaluationOptions) -> None:
  """Every check that can be made before any model is touched (see the three above)."""
  if options.scheduler.kind != "none" and not options.output_dir:
    raise ValueError("--scheduler needs --output_dir (the workers share its files).")
  check_size_bindings(options.gin_bindings)
  check_analysis_values(options)
  check_environment(options)
