"""Where each turn sits in the report's SVG drawing of the graph.

Columns are depths (the longest path from a root, so a refiner sits right of both the candidate
and the critique it derives from); within a column, turns are ordered by the mean row of their
parents and then by when they finished, which keeps edges short and mostly uncrossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from ..store.graph import Turn, TurnGraph

NODE_W, NODE_H = 132, 44  # one node's box
GAP_X, GAP_Y = 56, 18  # between columns, between rows
MARGIN = 16
ARC = 34  # room above the top row for edges that skip a column


@dataclass(frozen=True)
class NodeBox:
    """One turn's box: top-left corner and what its label says."""

    id: str
    x: int
    y: int
    label: str
    sublabel: str
    verdict: str


@dataclass(frozen=True)
class Edge:
    """A "derived from" edge, as a cubic Bézier path from the parent's right side to the child's left.

    ``kind`` is ``derived`` for every edge but an ``evolve`` child's: ``parent`` for the program it
    edits, ``inspiration`` for the others its prompt showed (drawn dashed).
    """

    parent: str
    child: str
    path: str
    kind: str = "derived"


@dataclass(frozen=True)
class Layout:
    """The drawing: its size, the boxes and the edges."""

    width: int
    height: int
    nodes: list[NodeBox]
    edges: list[Edge]


def depths(graph: TurnGraph) -> dict[str, int]:
    """Longest-path depth of every turn from a root (a turn without parents)."""
    dag: nx.DiGraph[str] = nx.DiGraph()
    for turn in graph.turns():
        dag.add_node(turn.id)
        dag.add_edges_from((p, turn.id) for p in turn.parents)
    depth: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        depth[node] = max((depth[p] + 1 for p in dag.predecessors(node)), default=0)
    return depth


def rows(graph: TurnGraph, depth: dict[str, int]) -> dict[str, int]:
    """Row of every turn within its column (barycentre of the parents' rows, then finishing order)."""
    columns: dict[int, list[Turn]] = {}
    for turn in graph.turns():
        columns.setdefault(depth[turn.id], []).append(turn)
    row: dict[str, int] = {}
    for d in sorted(columns):
        def key(t: Turn) -> tuple[float, int]:
            placed = [row[p] for p in t.parents if p in row]
            return (sum(placed) / len(placed) if placed else -1.0, t.seq)
        for index, turn in enumerate(sorted(columns[d], key=key)):
            row[turn.id] = index
    return row


def _sublabel(turn: Turn, island: int | None) -> str:
    if turn.produces_candidate:
        marks = "".join("✓" if f.passed else "✗" for f in turn.feedback if not f.advisory)
        return f"{turn.score:.2f} {marks}" + (f" · island {island}" if island is not None else "")
    return f"{turn.usage.total} tokens" if not turn.model.startswith("agentloop:") else "(computed)"


def _path(parent: tuple[int, int], child: tuple[int, int], columns: int) -> str:
    """Neighbouring columns: side to side. Further: top to top, arcing over the turns between,
    which would otherwise hide an edge such as candidate → refiner behind the critique."""
    (px, py), (cx, cy) = parent, child
    if columns <= 1:
        x1, y1, x2, y2 = px + NODE_W, py + NODE_H // 2, cx, cy + NODE_H // 2
        mid = (x1 + x2) // 2
        return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
    x1, y1, x2, y2 = px + NODE_W * 3 // 4, py, cx + NODE_W // 4, cy
    top = min(y1, y2) - ARC
    return f"M{x1},{y1} C{x1},{top} {x2},{top} {x2},{y2}"


def layout(graph: TurnGraph, verdicts: dict[str, str], kinds: dict[tuple[str, str], str] | None = None,
           islands: dict[str, int] | None = None) -> Layout:
    """Positions of every turn and the paths of every edge; ``kinds`` names an edge's kind by (parent,
    child), ``islands`` the island an ``evolve`` turn was bred on (shown on its box)."""
    kinds, islands = kinds or {}, islands or {}
    depth = depths(graph)
    row = rows(graph, depth)
    nodes, where = [], {}
    for turn in graph.turns():
        x = MARGIN + depth[turn.id] * (NODE_W + GAP_X)
        y = MARGIN + ARC + row[turn.id] * (NODE_H + GAP_Y)
        where[turn.id] = (x, y)
        nodes.append(NodeBox(turn.id, x, y, f"{turn.id} {turn.role}", _sublabel(turn, islands.get(turn.id)),
                             verdicts[turn.id]))
    edges = [Edge(parent, turn.id, _path(where[parent], where[turn.id], depth[turn.id] - depth[parent]),
                  kinds.get((parent, turn.id), "derived"))
             for turn in graph.turns() for parent in turn.parents]
    width = MARGIN * 2 + (max(depth.values(), default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = MARGIN * 2 + ARC + (max(row.values(), default=0) + 1) * (NODE_H + GAP_Y) - GAP_Y
    return Layout(width=width, height=height, nodes=nodes, edges=edges)
