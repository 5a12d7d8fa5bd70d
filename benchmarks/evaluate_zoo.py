"""Per-stage timing of `infofrag_evaluate --zoo` on a zoo of 50 models (10 channels each).

  python benchmarks/evaluate_zoo.py                  # 50 models, N = 1000 (builds the zoo once)
  python benchmarks/evaluate_zoo.py --models 10 --fingerprint_size 300   # smoke test

The zoo is made of real infofrag models: the quick beta-VAE config (conv encoder, 10
latents, synthetic_dsprites) trained for --train_steps steps with different seeds and
betas, so their channels differ. It is cached in --zoo_dir and reused by later runs.
Each run analyses into a fresh output folder and prints the time of every stage
(embedding, standard metrics, fingerprints, pairwise NMI/VI, OPTICS, figures) and the
total. Target: the channel-analysis stages (fingerprints + pairwise + OPTICS + figures)
under 60 s on 2 cores for 50 models at N = 1000.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_zoo(zoo_dir, num_models, train_steps):
  """Trains the missing models of the benchmark zoo (in-process, a few steps each)."""
  from infofrag.training import sweep
  from infofrag.training import train
  from infofrag.utils import paths
  config = paths.gin_config_path("quick", "vae.gin")
  betas = ["1.0", "4.0", "16.0"]
  for number in range(num_models):
    model_dir = os.path.join(zoo_dir, str(number))
    if sweep.is_finished(model_dir):
      continue
    bindings = [f"model.training_steps = {train_steps}", f"model.random_seed = {number}",
                f"vae.beta = {betas[number % len(betas)]}"]
    train.train_with_gin(model_dir, overwrite=True, gin_config_files=[config],
                         gin_bindings=bindings, resume=False,
                         options=train.LoopOptions(progress=False))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", type=int, default=50)
  parser.add_argument("--fingerprint_size", type=int, default=1000)
  parser.add_argument("--train_steps", type=int, default=100)
  parser.add_argument("--zoo_dir", default=os.path.join(tempfile.gettempdir(),
                                                        "infofrag_benchmark_zoo"))
  parser.add_argument("--metrics", default="mig",
                      help="standard metrics to time (default mig)")
  parser.add_argument("--metric_points", type=int, default=2000,
                      help="num_train of the standard metrics (dlib default 10000)")
  args = parser.parse_args()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

  start = time.time()
  build_zoo(args.zoo_dir, args.models, args.train_steps)
  print(f"zoo: {args.models} models in {args.zoo_dir} (built/checked in {time.time() - start:.1f} s)")

  from infofrag.cli import evaluate as evaluate_cli
  from infofrag.zoo import loading as models_lib
  from infofrag.analysis import pipeline
  from infofrag.analysis import outputs
  output_dir = tempfile.mkdtemp(prefix="infofrag_bench_eval_")
  bindings = [f"mig.num_train = {args.metric_points}",
              f"sap_score.num_train = {args.metric_points}",
              f"sap_score.num_test = {args.metric_points // 2}",
              f"dci.num_train = {args.metric_points}", f"dci.num_test = {args.metric_points // 2}"]
  argv = [f"--zoo={args.zoo_dir}", f"--output_dir={output_dir}",
          f"--fingerprint_size={args.fingerprint_size}", f"--metrics={args.metrics}"]
  argv += [f"--gin_bindings={b}" for b in bindings] + ["--no_progress"]
  options = evaluate_cli.options_from_args(evaluate_cli.build_parser().parse_args(argv))
  model_dirs = models_lib.find_models(zoo=args.zoo_dir)[:args.models]
  metrics = options.metrics
  start = time.time()
  analysis = pipeline.analyse_zoo(model_dirs, options)
  outputs.write_tables(analysis)
  exit_code = 1 if analysis.failures else 0
  total = time.time() - start
  with open(os.path.join(output_dir, "results.json")) as f:
    results = json.load(f)
  stages = results["datasets"]["synthetic_dsprites"]["stage_seconds"]
  channels = sum(len(row["info_bits_per_channel"]) for row in results["models"])
  print(f"\nmodels {len(results['models'])}, channels {channels}, N = {args.fingerprint_size}, "
        f"metrics {metrics} at num_train {args.metric_points}, exit code {exit_code}")
  print(f"{'stage':<14}{'seconds':>10}")
  for stage in ["embedding", "metrics", "fingerprints", "pairwise", "optics", "figures"]:
    print(f"{stage:<14}{stages.get(stage, 0.0):>10.2f}")
  analysis = sum(stages.get(s, 0.0) for s in ["fingerprints", "pairwise", "optics", "figures"])
  print(f"{'analysis':<14}{analysis:>10.2f}   (fingerprints+pairwise+optics+figures; target < 60 s)")
  print(f"{'total':<14}{total:>10.2f}   (including tables and I/O)")
  shutil.rmtree(output_dir, ignore_errors=True)


if __name__ == "__main__":
  main()
