"""No import cycles inside agentloop/: a module that imports another only late, inside a function,
to dodge a cycle hides the cycle rather than removing it, so late imports count too (imports under
``if TYPE_CHECKING:`` do not: they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "agentloop"

# the cycles left through late imports, each a known one: a new cycle fails the test, and so does
# one of these once it is gone (remove it here then)
KNOWN_LATE = {
    ("agentloop.strategies.disagreement", "agentloop.strategies.selection"),  # selection dispatches to disagreement
    ("agentloop.sweep.humaneval", "agentloop.sweep.suites"),  # the built-in suite registry and its one suite
}


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


def test_late_imports_close_no_cycle_but_the_known_ones():
    assert _cycles(_graph(late=True)) == KNOWN_LATE


def test_the_checks_package_never_imports_the_engine():
    """Feedback kinds and the engine meet in ``agentloop.checks``: it imports neither the orchestrator,
    the store, the strategies nor the task model (which imports it), so no cycle can run through it."""
    graph = _graph(late=True)
    reached = nx.descendants(graph, "agentloop.checks")
    engine = {"agentloop.orchestrator", "agentloop.store", "agentloop.strategies", "agentloop.task"}
    assert not reached & engine, sorted(reached & engine)
