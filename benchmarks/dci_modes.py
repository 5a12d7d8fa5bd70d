"""DCI sklearn (dlib's trees, scikit-learn) against fast (LightGBM-split trees), per model.

Embeds synthetic_dsprites_32 samples with each trained model (the mean of its encoder)
and computes DCI in both modes on the same codes: time per model, and the differences
fast - sklearn of informativeness (test and train), disentanglement and completeness.
The quickstart's zoo is the intended input; it is only read.

Usage: [PYTHONPATH=CHECKOUT] python benchmarks/dci_modes.py ZOO [--num_train 10000] [--num_test 5000]
         [--models 0,1,2] [--n_jobs -1]
"""

import argparse
import os
import time

import numpy as np

from infofrag.utils import quiet_tensorflow


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("zoo", help="folder of trained models ZOO/<n>/model (read only)")
  parser.add_argument("--num_train", type=int, default=10000, help="dlib's default 10000")
  parser.add_argument("--num_test", type=int, default=5000, help="dlib's default 5000")
  parser.add_argument("--models", default=None, help="model numbers, e.g. 0,5,10 (default all)")
  parser.add_argument("--n_jobs", type=int, default=-1, help="per-factor fits at once")
  parser.add_argument("--dataset", default="synthetic_dsprites_32")
  args = parser.parse_args()
  quiet_tensorflow.import_tensorflow(verbose=False)
  from infofrag.data import named_data
  from infofrag.metrics import dci
  from infofrag.metrics import utils
  from infofrag.zoo import saved_model
  numbers = sorted((int(n) for n in os.listdir(args.zoo) if n.isdigit()), key=int)
  if args.models:
    numbers = [int(n) for n in args.models.split(",")]
  data = named_data.get_named_ground_truth_data(args.dataset)
  load = os.getloadavg()
  print(f"DCI sklearn vs fast on {args.dataset}, num_train={args.num_train}, "
        f"num_test={args.num_test}, n_jobs={args.n_jobs}, {os.cpu_count()} cores, "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
  # `python benchmarks/...` imports the installed infofrag, not the checkout's: say which.
  print(f"infofrag from {os.path.dirname(os.path.dirname(dci.__file__))} "
        "(set PYTHONPATH to measure another checkout)")
  print("model  sklearn_s  fast_s  speedup  d_info_test  d_info_train  d_disent  d_complete"
        "  info_test_sklearn")
  rows = []
  for number in numbers:
    model = saved_model.load_model(os.path.join(args.zoo, str(number)))
    represent = lambda x, model=model: model.encode(x)[0]
    random_state = np.random.RandomState(0)
    codes_train, factors_train = utils.generate_batch_factor_code(data, represent, args.num_train,
                                                                  random_state, 64)
    codes_test, factors_test = utils.generate_batch_factor_code(data, represent, args.num_test,
                                                                random_state, 64)
    results, seconds = {}, {}
    for mode in ("sklearn", "fast"):
      start = time.perf_counter()
      results[mode] = dci.compute_dci(codes_train, factors_train, codes_test, factors_test,
                                      random_state=0, n_jobs=args.n_jobs, mode=mode)
      seconds[mode] = time.perf_counter() - start
    diff = {key: results["fast"][key] - results["sklearn"][key]
            for key in ("informativeness_test", "informativeness_train", "disentanglement",
                        "completeness")}
    rows.append((seconds["sklearn"], seconds["fast"], diff))
    print(f"{number:5d}  {seconds['sklearn']:7.1f}  {seconds['fast']:6.1f}  "
          f"{seconds['sklearn'] / seconds['fast']:7.1f}  {diff['informativeness_test']:+11.4f}  "
          f"{diff['informativeness_train']:+12.4f}  {diff['disentanglement']:+8.4f}  "
          f"{diff['completeness']:+10.4f}  {results['sklearn']['informativeness_test']:.4f}",
          flush=True)
  exact = np.array([r[0] for r in rows])
  fast = np.array([r[1] for r in rows])
  worst = {key: max(abs(r[2][key]) for r in rows) for key in rows[0][2]}
  load = os.getloadavg()
  print(f"mean time per model: sklearn {exact.mean():.1f} s, fast {fast.mean():.1f} s, "
        f"speed-up {exact.sum() / fast.sum():.1f}x")
  print("largest |fast - sklearn|: " + ", ".join(f"{k} {v:.4f}" for k, v in worst.items()))
  print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
  main()
