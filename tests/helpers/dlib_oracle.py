"""disentanglement_lib 1.5 ("dlib") as a test oracle, imported under TF2.

dlib's metric modules are numpy/scikit-learn code, but each does `import gin.tf` (TF1-only)
and registers itself with the gin 0.1 keyword `blacklist=`, which today's gin rejects (and
its configurable names would clash with infofrag's). So the modules are imported with a
stand-in gin in `sys.modules` (only while importing; the real gin is restored after): its
`configurable` keeps the function as it is, except that parameters the caller leaves out are
filled from `bindings(...)`, a plain dict of "configurable.parameter" -> value.

Install the oracle with (no dependencies: it would pull TF1-era pins):

    python -m pip install --no-deps "disentanglement-lib==1.5"

UDR (`evaluation/udr/metrics/udr.py`) is not in the 1.5 wheel (its folder has no
`__init__.py`, so setuptools leaves it out). `python -m tests.helpers.dlib_oracle
install-udr` (run by `.ci/run`) puts that one file, from the GitHub commit UDR_COMMIT and
checked against UDR_SHA256, into the installed package.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import types
import urllib.request

import pytest

INSTALL = 'python -m pip install --no-deps "disentanglement-lib==1.5"'
UDR_COMMIT = "86a644d4ed35c771560dc3360756363d35477357"
UDR_URL = ("https://raw.githubusercontent.com/google-research/disentanglement_lib/"
           f"{UDR_COMMIT}/disentanglement_lib/evaluation/udr/metrics/udr.py")
UDR_SHA256 = "f49edd64b8e8bbcc4eec6a399bddb4f3a519278cdc60b6ebcaede0fd11467e57"

METRIC_MODULES = ("utils", "mig", "sap_score", "dci", "modularity_explicitness", "beta_vae",
                  "factor_vae", "irs", "unsupervised_metrics", "downstream_task", "fairness")

_BINDINGS: dict[str, object] = {}


def _stand_in_gin() -> types.ModuleType:
  """A module with gin's `configurable` and `REQUIRED`, reading `_BINDINGS`."""
  gin = types.ModuleType("gin")
  gin.REQUIRED = object()

  def configurable(name=None, **unused_options):
    def decorate(fn, name=name):
      name = name or fn.__name__
      parameters = list(inspect.signature(fn).parameters)

      @functools.wraps(fn)
      def bound(*args, **kwargs):
        for parameter in parameters[len(args):]:
          key = f"{name}.{parameter}"
          if parameter not in kwargs and key in _BINDINGS:
            kwargs[parameter] = _BINDINGS[key]
        return fn(*args, **kwargs)
      return bound

    if callable(name):  # bare @gin.configurable
      return decorate(name, None)
    return decorate

  gin.configurable = configurable
  gin.tf = gin
  return gin


@contextlib.contextmanager
def bindings(values: dict[str, object]):
  """Binds dlib's gin parameters ({"predictor.predictor_fn": fn, ...}) inside the block."""
  _BINDINGS.clear()
  _BINDINGS.update(values)
  try:
    yield
  finally:
    _BINDINGS.clear()


@functools.lru_cache(maxsize=None)
def load() -> types.SimpleNamespace:
  """dlib's metric modules as attributes (`udr` is None when udr.py is absent).

  Raises ImportError when disentanglement_lib is not installed.
  """
  saved = {name: sys.modules.get(name) for name in ("gin", "gin.tf")}
  stand_in = _stand_in_gin()
  sys.modules["gin"] = sys.modules["gin.tf"] = stand_in
  try:
    modules = {name: importlib.import_module(f"disentanglement_lib.evaluation.metrics.{name}")
               for name in METRIC_MODULES}
    try:
      modules["udr"] = importlib.import_module("disentanglement_lib.evaluation.udr.metrics.udr")
    except ImportError:
      modules["udr"] = None
  finally:
    for name, module in saved.items():
      if module is None:
        sys.modules.pop(name, None)
      else:
        sys.modules[name] = module
  return types.SimpleNamespace(**modules)


def require(udr: bool = False) -> types.SimpleNamespace:
  """`load()`, or skips the calling test saying how to install the oracle."""
  try:
    oracle = load()
  except ImportError as error:
    pytest.skip(f"dlib parity needs the oracle ({error}); install it with: {INSTALL}")
  if udr and oracle.udr is None:
    pytest.skip("dlib's UDR is not in the disentanglement-lib 1.5 wheel; put udr.py from "
                f"{UDR_URL} (sha256 {UDR_SHA256}) at disentanglement_lib/evaluation/udr/"
                "metrics/udr.py in the installed package, as .ci/run does")
  return oracle


def install_udr() -> str:
  """Downloads dlib's udr.py (UDR_URL) into the installed disentanglement_lib, checking
  its sha256; returns the path written. Raises RuntimeError on any failure."""
  spec = importlib.util.find_spec("disentanglement_lib")
  if spec is None or not spec.submodule_search_locations:
    raise RuntimeError(f"disentanglement_lib is not installed; first run: {INSTALL}")
  package = list(spec.submodule_search_locations)[0]
  target = os.path.join(package, "evaluation", "udr", "metrics", "udr.py")
  try:
    with urllib.request.urlopen(UDR_URL, timeout=60) as response:
      text = response.read()
  except OSError as error:
    raise RuntimeError(f"could not download {UDR_URL}: {error}") from error
  digest = hashlib.sha256(text).hexdigest()
  if digest != UDR_SHA256:
    raise RuntimeError(f"{UDR_URL} has sha256 {digest}, expected {UDR_SHA256}")
  os.makedirs(os.path.dirname(target), exist_ok=True)
  with open(target, "wb") as f:
    f.write(text)
  return target


if __name__ == "__main__":
  if sys.argv[1:] != ["install-udr"]:
    sys.exit("usage: python -m tests.helpers.dlib_oracle install-udr")
  try:
    print(f"wrote {install_udr()}")
  except RuntimeError as error:
    sys.exit(f"dlib's UDR was not installed ({error}); the UDR parity tests will be skipped")
