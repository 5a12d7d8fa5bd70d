"""The package's shape: imports flow one way and only the command line parses flags.

Reads the source with `ast` (every import, including those inside functions), so the
checks hold for lazy imports too.
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "infofrag")


def _modules():
  """{dotted module name: file path} of every module of infofrag."""
  found = {}
  for folder, _, files in os.walk(ROOT):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        dotted = os.path.relpath(path[:-3], os.path.dirname(ROOT)).replace(os.sep, ".")
        found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
  return found


def _imports(path):
  """Dotted names imported anywhere in a file (`from a import b` gives a.b and a)."""
  names = set()
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names.add(node.module)
      names.update(f"{node.module}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Import):
      names.update(alias.name for alias in node.names)
  return names


def _graph(level):
  """{node: set of nodes it imports}; nodes are modules or top-level subpackages."""
  modules = _modules()
  def node_of(name):
    return name if level == "module" else ".".join(name.split(".")[:2])
  graph = {}
  for module, path in modules.items():
    source = node_of(module)
    targets = {node_of(name) for name in _imports(path) if name in modules}
    # A package's __init__ re-exporting its own modules is not a dependency between nodes.
    graph.setdefault(source, set()).update(
        t for t in targets if t != source and not t.startswith(source + ".")
        and not source.startswith(t + "."))
  return graph


def _cycles(graph):
  """Strongly connected components with more than one node (Tarjan)."""
  index, low, stack, on_stack, result = {}, {}, [], set(), []
  def visit(node):
    index[node] = low[node] = len(index)
    stack.append(node)
    on_stack.add(node)
    for target in graph.get(node, ()):
      if target not in index:
        visit(target)
        low[node] = min(low[node], low[target])
      elif target in on_stack:
        low[node] = min(low[node], index[target])
    if low[node] == index[node]:
      component = []
      while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
          break
      if len(component) > 1:
        result.append(sorted(component))
  for node in list(graph):
    if node not in index:
      visit(node)
  return result


def test_the_cycle_finder_finds_a_cycle():
  assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("level", ["module", "package"])
def test_no_import_cycles(level):
  assert _cycles(_graph(level)) == []


def test_only_the_command_line_parses_flags():
  parsing = [module for module, path in _modules().items()
             if "argparse" in _imports(path) and not module.startswith("infofrag.cli")]
  assert parsing == []


def _cli_imports(path):
  return {name for name in _imports(path) if name.startswith("infofrag.cli.")}


def test_cli_modules_import_no_cli_module_but_the_shared_one():
  # A workflow shared by two commands lives in cli/common.py or in the library, never in
  # another command's module.
  allowed = {"infofrag.cli.common"}
  found = {module: sorted(_cli_imports(path) - allowed - {module})
           for module, path in _modules().items() if module.startswith("infofrag.cli")}
  assert {module: names for module, names in found.items() if names} == {}


def _calls(path, attribute):
  """Line numbers of calls `<anything>.<attribute>(...)` in a file."""
  return [node.lineno for node in ast.walk(ast.parse(open(path).read()))
          if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and node.func.attr == attribute
          and isinstance(node.func.value, ast.Name) and node.func.value.id in ("matplotlib", "mpl")]


def test_no_library_module_picks_the_matplotlib_backend():
  # Only the commands choose a backend (MPLBACKEND in infofrag/cli/__init__.py).
  picking = {module: _calls(path, "use") for module, path in _modules().items()}
  assert {module: lines for module, lines in picking.items() if lines} == {}


def _assigned_constants(path):
  """Names assigned at the top level of a module."""
  names = set()
  for node in ast.parse(open(path).read()).body:
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
      for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
        if isinstance(target, ast.Name):
          names.add(target.id)
  return names


def test_the_activity_cut_is_defined_once():
  # The paper's 0.01-bit cut of inactive channels: fragments.structure.ACTIVE_BITS, read
  # by every stage; no second constant and no literal default elsewhere.
  defining = [module for module, path in _modules().items()
              if _assigned_constants(path) & {"ACTIVE_BITS", "INFO_THRESHOLD_BITS"}]
  assert defining == ["infofrag.fragments.structure"]
  literal = [module for module, path in _modules().items()
             if "info_threshold_bits: float = 0.01" in open(path).read()
             or "threshold_bits: float = 0.01" in open(path).read()]
  assert literal == []


# Names of the analysis output folder (infofrag.utils.layout owns them).
OUTPUT_NAMES = ('"figures"', '"fingerprints"', '"cache"', '"results.json"', '"report.html"',
                '"tensorboard"', '"models_scatter.png"', '"model_similarity_nmi.png"',
                '"groups.csv"', '"models.csv"', '"hotspots.csv"', '"spaces.csv"',
                "f\"structure_", "f\"hotspot_", "f\"pairwise-", "f\"chance-", "f\"means-",
                "_n{size}_seed{seed}", '"pairwise-')


def test_output_paths_are_built_only_by_the_layout_module():
  layout = os.path.join(ROOT, "utils", "layout.py")
  offenders = []
  for module, path in _modules().items():
    if path == layout:
      continue
    for number, line in enumerate(open(path), start=1):
      code = line.split("#", 1)[0]
      if "os.path.join(" in code or "open(" in code:
        offenders += [f"{module}:{number}: {line.strip()}" for name in OUTPUT_NAMES
                      if name in code]
  assert offenders == []
