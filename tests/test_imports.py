"""The layers of hyperlearn point down, and importing it stays light.

Layers, bottom to top (an arrow is "may import"):

    utils  <-  hypergraph, linalg, datasets, metrics  <-  tagging, testing, distributed
           <-  cli, _cli_tag, _warmup, the package root

The import graph is read from the source with :mod:`ast` — every ``import`` and ``from … import``
of a ``hyperlearn`` module, at module level or inside a function (a lazy import is still a
dependency), but not under ``if TYPE_CHECKING:`` — and reduced to one node per subpackage (or
top-level module).  That graph must have no cycle, and the layer rules below must hold.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hyperlearn

ROOT = Path(hyperlearn.__file__).parent
#: Subpackages that are the bottom layer: they import nothing else of hyperlearn.
BOTTOM = {"utils"}
#: Subpackages that must not import the ones listed (higher layers).
FORBIDDEN = {
    "utils": {"*"},
    "hypergraph": {"tagging", "testing", "distributed", "cli", "_cli_tag", "_warmup", "datasets"},
    "linalg": {"tagging", "testing", "distributed", "cli", "_cli_tag", "_warmup", "hypergraph"},
    "datasets": {"tagging", "testing", "distributed", "cli", "_cli_tag", "_warmup"},
    "metrics": {"tagging", "testing", "distributed", "cli", "_cli_tag", "_warmup"},
    # tagging reaches distributed only inside a backend="dask" fit (see the test below)
    "tagging": {"cli", "_cli_tag", "_warmup"},
    "testing": {"cli", "_cli_tag", "_warmup", "tagging"},
    "distributed": {"cli", "_cli_tag", "_warmup", "tagging"},
}
#: Modules that need an optional extra, skipped by the plain import walk.
OPTIONAL = ("hyperlearn.distributed",)


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node):
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path):
    """Absolute names of the hyperlearn modules imported anywhere in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "hyperlearn")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hyperlearn":
                continue
            found.add(target)
            # `from . import x` / `from .pkg import sub` may name submodules
            found.update(f"{target}.{a.name}" for a in node.names if a.name != "*")
    return found


def _layer(name):
    """The node of the reduced graph: ``hyperlearn.<first component>`` ('' for the root)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _all_modules():
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def _layer_graph():
    known = {_layer(_module_name(p)) for p in _all_modules()}
    graph = {}
    for path in _all_modules():
        source = _layer(_module_name(path))
        targets = {_layer(t) for t in _imports(path)} & known
        graph.setdefault(source, set()).update(targets - {source})
    return graph


def _find_cycle(graph):
    """One cycle as a list of nodes, or None (depth-first search with colours)."""
    colour, stack = {}, []

    def visit(node):
        colour[node] = "grey"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt) == "grey":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in colour and (cycle := visit(nxt)):
                return cycle
        colour[node] = "black"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in colour and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_reader_sees_relative_lazy_and_skips_type_checking(tmp_path, monkeypatch):
    pkg = tmp_path / "hyperlearn" / "tagging"
    pkg.mkdir(parents=True)
    (tmp_path / "hyperlearn" / "__init__.py").write_text("")
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..utils._validation import check_int\n"
        "from . import _weights\n"
        "if TYPE_CHECKING:\n    from ..cli import main\n"
        "def f():\n    import hyperlearn.linalg\n    from .. import metrics\n"
    )
    (pkg / "_mod.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path / "hyperlearn")
    assert _imports(pkg / "_mod.py") == {
        "hyperlearn.utils._validation",
        "hyperlearn.utils._validation.check_int",
        "hyperlearn.tagging",
        "hyperlearn.tagging._weights",
        "hyperlearn.linalg",
        "hyperlearn",
        "hyperlearn.metrics",
    }


def test_find_cycle_finds_one():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_cycle_between_subpackages():
    cycle = _find_cycle(_layer_graph())
    assert cycle is None, " -> ".join(name or "hyperlearn" for name in cycle)


@pytest.mark.parametrize("source", sorted(FORBIDDEN))
def test_layers_point_down(source):
    graph = _layer_graph()
    imported = graph.get(source, set())
    forbidden = FORBIDDEN[source]
    if "*" in forbidden:
        assert imported == set(), f"{source} imports {sorted(imported)}"
    else:
        assert not imported & forbidden, f"{source} imports {sorted(imported & forbidden)}"


def test_every_module_imports_with_utils_first():
    """In a fresh interpreter: utils and its modules first, then every other module."""
    names = [
        m.name
        for m in pkgutil.walk_packages([str(ROOT)], prefix="hyperlearn.")
        if not m.name.startswith(OPTIONAL) and not m.name.endswith("__main__")
    ]
    names.sort(key=lambda n: (not n.startswith("hyperlearn.utils"), n))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "hyperlearn.utils._validation" in names and "hyperlearn.tagging._compare" in names


@pytest.mark.parametrize(
    "statement",
    [
        "import hyperlearn",
        "import hyperlearn.tagging, hyperlearn.linalg, hyperlearn.hypergraph, hyperlearn.testing",
        "import hyperlearn.cli, hyperlearn._warmup",
    ],
)
def test_import_pulls_in_no_torch_or_dask(statement):
    code = (
        f"{statement}; import sys; "
        "print(','.join(m for m in ('torch', 'dask', 'distributed') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_tagging_imports_distributed_only_inside_functions():
    """The optional Dask backend is imported when a fit asks for it, never on import."""
    for path in sorted((ROOT / "tagging").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: function bodies may import it
            if isinstance(node, ast.ImportFrom):
                target = "." * node.level + (node.module or "")
                assert "distributed" not in target, f"{path.name} imports {target} at module level"
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
                assert not any("distributed" in n for n in names), f"{path.name} imports {names}"
