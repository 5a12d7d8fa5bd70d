"""DCI 'numpy' (dlib's trees grown in numpy) against 'sklearn' (scikit-learn's own trees).

Times both modes on the same codes at dlib's sizes (10,000 training / 5,000 test points)
and prints the speed ratio and the largest differences of the importance matrix, the
informativeness scores, disentanglement and completeness, with the number of splits where
codes tied (numpy mode breaks those as scikit-learn breaks exact ties; see
infofrag/metrics/dci_exact.py). With --band_seed, scikit-learn is also fit with another
seed: the differences it makes are the band that ties leave open.

Codes (--codes):
  zoo: each model's encoder means on synthetic_dsprites (64x64), sampled exactly as DCI
    samples them (dlib's exported models in ../shared/testdata/dlib_zoo by default;
    needs TensorFlow; about 3 s per model).
  synthetic: no model: the dSprites factors (shape, scale, orientation, x, y) scaled to
    [0, 1], five noise channels, a random rotation of all ten and Gaussian noise, as
    float32 (a model's outputs are float32).

Usage: PYTHONPATH=. python benchmarks/dci_exact.py [--codes zoo|synthetic]
         [--zoo DIR] [--models 0,250] [--num_train 10000] [--num_test 5000] [--n_jobs -1]
         [--band_seed 1]
"""

import argparse
import os
import time

import numpy as np


def zoo_codes(zoo, number, num_train, num_test):
  """Encoder means and factors of model ZOO/number on synthetic_dsprites (as DCI samples)."""
  from infofrag.utils import quiet_tensorflow
  quiet_tensorflow.import_tensorflow(verbose=False)
  from infofrag.data import named_data
  from infofrag.metrics import utils
  from infofrag.zoo import saved_model
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  model = saved_model.load_model(os.path.join(zoo, str(number)))
  represent = lambda x: model.encode(x)[0]
  random_state = np.random.RandomState(0)
  train = utils.generate_batch_factor_code(data, represent, num_train, random_state, 64)
  test = utils.generate_batch_factor_code(data, represent, num_test, random_state, 64)
  return train + test


def synthetic_codes(seed, num_train, num_test):
  """Rotated, noisy dSprites factors as float32 codes [points, 10], and the factors."""
  from infofrag.data import named_data
  data = named_data.get_named_ground_truth_data("synthetic_dsprites")
  random_state = np.random.RandomState(seed)
  rotation = np.linalg.qr(random_state.randn(10, 10))[0]
  out = []
  for num in (num_train, num_test):
    factors = data.sample_factors(num, random_state)
    scaled = factors / (np.array(data.factors_num_values) - 1.0)
    channels = np.concatenate([scaled, 0.3 * random_state.randn(num, 5)], axis=1)
    codes = channels @ rotation + 0.05 * random_state.randn(num, 10)
    out += [codes.astype(np.float32), factors]
  return out


def run_mode(dci, codes_train, factors_train, codes_test, factors_test, mode, n_jobs, seed):
  """(seconds, importance [codes, factors], scores dict, tied splits) of one DCI run."""
  start = time.perf_counter()
  importance, train, test, tied = dci._fit_factors(
      codes_train, factors_train, codes_test, factors_test, seed, n_jobs, mode)
  seconds = time.perf_counter() - start
  scores = {"informativeness_train": train, "informativeness_test": test,
            "disentanglement": dci.disentanglement(importance),
            "completeness": dci.completeness(importance)}
  return seconds, importance, scores, tied


def differences(dci_a, dci_b):
  """Largest |a - b| of the importance matrix and of each score."""
  out = {"importance": float(np.abs(dci_a[1] - dci_b[1]).max())}
  out.update({key: abs(dci_a[2][key] - dci_b[2][key]) for key in dci_a[2]})
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--codes", choices=("zoo", "synthetic"), default="zoo")
  parser.add_argument("--zoo", default=os.path.join("..", "shared", "testdata", "dlib_zoo"),
                      help="dlib-layout zoo (read only) for --codes zoo")
  parser.add_argument("--models", default="0,250", help="model numbers (zoo) or seeds")
  parser.add_argument("--num_train", type=int, default=10000, help="dlib's default 10000")
  parser.add_argument("--num_test", type=int, default=5000, help="dlib's default 5000")
  parser.add_argument("--n_jobs", type=int, default=-1, help="factors fit at once (both modes)")
  parser.add_argument("--band_seed", type=int, default=None,
                      help="also fit scikit-learn with this tree seed (the band ties leave)")
  args = parser.parse_args()
  from infofrag.metrics import dci
  import sklearn
  load = os.getloadavg()
  print(f"DCI numpy vs sklearn, codes={args.codes}, num_train={args.num_train}, "
        f"num_test={args.num_test}, n_jobs={args.n_jobs}, {os.cpu_count()} cores, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
  print(f"infofrag from {os.path.dirname(os.path.dirname(dci.__file__))}")
  totals = {"sklearn": 0.0, "numpy": 0.0}
  for model in [int(m) for m in args.models.split(",")]:
    if args.codes == "zoo":
      arrays = zoo_codes(args.zoo, model, args.num_train, args.num_test)
    else:
      arrays = synthetic_codes(model, args.num_train, args.num_test)
    codes_train, factors_train, codes_test, factors_test = (
        np.asarray(a, dtype=np.float64) if i % 2 == 0 else np.asarray(a) for i, a in
        enumerate(arrays))
    runs = {}
    # Exact first, then scikit-learn, both with tree seed 0 (the same per-factor seeds).
    for mode in ("numpy", "sklearn"):
      runs[mode] = run_mode(dci, codes_train, factors_train, codes_test, factors_test, mode,
                            args.n_jobs, 0)
      totals[mode] += runs[mode][0]
      print(f"  model {model}: {mode:7s} {runs[mode][0]:7.1f} s  load "
            f"{os.getloadavg()[0]:.2f}  {runs[mode][2]}", flush=True)
    diff = differences(runs["numpy"], runs["sklearn"])
    print(f"model {model}: sklearn {runs['sklearn'][0]:.1f} s, numpy {runs['numpy'][0]:.1f} s, "
          f"ratio {runs['sklearn'][0] / runs['numpy'][0]:.1f}x; tied splits "
          f"{runs['numpy'][3]}; max |numpy - sklearn|: "
          + ", ".join(f"{key} {value:.2e}" for key, value in diff.items()), flush=True)
    if args.band_seed is not None:
      band = run_mode(dci, codes_train, factors_train, codes_test, factors_test, "sklearn",
                      args.n_jobs, args.band_seed)
      print(f"model {model}: band: max |sklearn seed {args.band_seed} - sklearn seed 0|: "
            + ", ".join(f"{key} {value:.2e}" for key, value in
                        differences(band, runs["sklearn"]).items()), flush=True)
  load = os.getloadavg()
  print(f"total: sklearn {totals['sklearn']:.1f} s, numpy {totals['numpy']:.1f} s, ratio "
        f"{totals['sklearn'] / totals['numpy']:.1f}x; load average at end "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
  main()
