"""`infofrag_train`: train one VAE from gin configs into a dlib-layout model directory.

  infofrag_train --gin_config=gin_configs/quick/vae.gin --model_dir=/tmp/m
  infofrag_train --gin_config=F --gin_bindings="vae.beta = 4." --model_dir=D --overwrite
  infofrag_train --gin_config=F --model_dir=D --resume     # after a crash or Ctrl-C

`--help` does not import TensorFlow; it is imported only when training starts.
"""

import argparse
import os
import signal
import sys


def build_parser():
  parser = argparse.ArgumentParser(
      prog="infofrag_train",
      description="Train a VAE (dlib's methods, TF2) configured by gin; writes "
                  "MODEL_DIR/model/{tfhub,results,tf_checkpoint,logs} in disentanglement_lib's "
                  "layout.")
  parser.add_argument("--gin_config", action="append", default=[], metavar="FILE",
                      help="gin config file (repeatable; later files override earlier ones)")
  parser.add_argument("--gin_bindings", action="append", default=[], metavar="BINDING",
                      help="gin binding such as \"vae.beta = 4.\" (repeatable, applied last)")
  parser.add_argument("--model_dir", required=True,
                      help="output directory; it must not exist unless --overwrite")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace an existing model directory (at the end, atomically)")
  parser.add_argument("--resume", action="store_true",
                      help="continue an interrupted run from its last checkpoint "
                           "(starts from step 0 if there is none)")
  parser.add_argument("--checkpoint_every", type=int, default=1000, metavar="STEPS",
                      help="steps between checkpoints (default 1000)")
  parser.add_argument("--summary_every", type=int, default=100, metavar="STEPS",
                      help="steps between TensorBoard summaries (default 100)")
  parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
  return parser


def _sigterm_as_interrupt(signum, frame):
  del signum, frame
  raise KeyboardInterrupt  # Lets the loop save a checkpoint before exiting.


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def main(argv=None):
  args = build_parser().parse_args(argv)
  for flag in ("checkpoint_every", "summary_every"):
    if getattr(args, flag) < 1:
      print(f"infofrag_train: error: --{flag} must be >= 1", file=sys.stderr)
      return 2
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from infofrag.data.ground_truth import paths  # pylint: disable=g-import-not-at-top
  from infofrag.training import train  # pylint: disable=g-import-not-at-top
  options = train.LoopOptions(checkpoint_every=args.checkpoint_every,
                              summary_every=args.summary_every,
                              progress=not args.no_progress)
  signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
  try:
    results = train.train_with_gin(args.model_dir, overwrite=args.overwrite,
                                   gin_config_files=args.gin_config,
                                   gin_bindings=args.gin_bindings, resume=args.resume,
                                   options=options)
  except KeyboardInterrupt:
    return 130
  except (train.TrainingError, paths.DatasetFileNotFoundError, ValueError, RuntimeError) as error:
    print(f"infofrag_train: error: {_first_line(error)}", file=sys.stderr)
    return 1
  except Exception as error:  # pylint: disable=broad-except
    # Unexpected failures still end with one readable line and a non-zero exit.
    print(f"infofrag_train: error: {type(error).__name__}: {_first_line(error)}", file=sys.stderr)
    return 1
  terms = ", ".join(f"{k}={v:.4g}" for k, v in results.items()
                    if isinstance(v, float) and k != "elapsed_time")
  print(f"infofrag_train: wrote {args.model_dir} ({terms}; "
        f"{results['elapsed_time']:.1f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
