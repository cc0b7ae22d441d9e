"""No import cycles inside agentloop/: a module that imports another only late, inside a function,
to dodge a cycle hides the cycle rather than removing it, so late imports count too (imports under
``if TYPE_CHECKING:`` do not: they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "agentloop"

# Each top-level part of agentloop and its layer: a module imports only its own layer or those below
# (late imports too). The most specific entry wins; a module of no entry fails the test, so a new
# one is placed on purpose. The strategy registry (``strategies/__init__`` and ``plugins``) sits
# with the task model, which looks strategies up by name as it looks feedback kinds up (the
# strategy modules themselves are imported by name at run time, not by an import statement).
LAYERS = {
    "agentloop.errors": 0, "agentloop.core": 0,  # leaves
    "agentloop.sandbox": 1,  # runs untrusted code
    "agentloop.checks": 2, "agentloop.task": 2,  # feedback kinds; the task file
    "agentloop.strategies": 2, "agentloop.strategies.plugins": 2,  # the strategy registry
    "agentloop.models": 3,  # model backends
    "agentloop.store": 4,  # turns, the graph, the SQLite store, results
    "agentloop.engine": 5, "agentloop.strategies.*": 5,  # the run loop and the strategies it drives
    "agentloop.views": 6,  # show, metrics, export
    "agentloop.api": 7, "agentloop.wrap": 7,  # the library entry points
    "agentloop.sweep": 8, "agentloop.report": 8, "agentloop.cli": 8,  # built on the library
    # the public names and the older import paths, re-exported for user code
    "agentloop": 9, "agentloop.feedback": 9, "agentloop.graph": 9, "agentloop.result": 9,
    "agentloop.orchestrator": 9, "agentloop.context": 9, "agentloop.signals": 9,
    "agentloop.ctoolchain": 9, "agentloop.pytest_runner": 9,
}


def _layer(module: str) -> int:
    """The layer of ``module``: its own entry, else its nearest package's (``pkg.*`` entries cover
    a package's modules but not the package itself)."""
    if module in LAYERS:
        return LAYERS[module]
    parts = module.split(".")
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end])
        for key in (prefix + ".*", prefix):
            if key in LAYERS:
                return LAYERS[key]
    raise KeyError(f"{module} is in no layer: add it to LAYERS")


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def _imports(body: list[ast.stmt], late: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run: at module level (in ``if``/``try`` too), and with ``late`` in functions."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            found += _imports(node.orelse, late) + ([] if _type_checking(node) else _imports(node.body, late))
        elif isinstance(node, ast.Try):
            for part in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _imports(part, late)
        elif late and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith,
                                        ast.For, ast.AsyncFor, ast.While)):
            found += _imports(node.body, late)
    return found


def _graph(late: bool) -> nx.DiGraph:
    """Module -> the modules importing it runs: its targets and their packages (an import of
    ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first), but not the importer's own packages."""
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text()).body, late):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                parts = target.split(".")
                for end in range(1, len(parts) + 1):
                    ran = ".".join(parts[:end])
                    if ran in modules and ran != name and not name.startswith(ran + "."):
                        graph.add_edge(name, ran)
    return graph


def _cycles(graph: nx.DiGraph) -> set[tuple[str, ...]]:
    return {tuple(sorted(cycle)) for cycle in nx.simple_cycles(graph)}


def test_no_module_level_import_cycle():
    assert _cycles(_graph(late=False)) == set()


def test_late_imports_close_no_cycle():
    assert _cycles(_graph(late=True)) == set()


def test_every_module_imports_only_its_layer_or_below():
    graph = _graph(late=True)
    modules = [_name(p) for p in PACKAGE.rglob("*.py")]
    upward = sorted(f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
                    for a in modules for b in (graph.successors(a) if a in graph else ()) if _layer(b) > _layer(a))
    assert upward == [], upward


def test_the_checks_package_never_imports_the_engine():
    """Feedback kinds and the engine meet in ``agentloop.checks``: it imports neither the orchestrator,
    the store, the strategies nor the task model (which imports it), so no cycle can run through it."""
    graph = _graph(late=True)
    reached = nx.descendants(graph, "agentloop.checks")
    engine = {"agentloop.engine", "agentloop.store", "agentloop.strategies", "agentloop.task"}
    hits = sorted(m for m in reached if any(m == e or m.startswith(e + ".") for e in engine))
    assert not hits, hits
