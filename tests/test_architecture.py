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
