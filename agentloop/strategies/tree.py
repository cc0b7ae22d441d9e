"""``tree``: search over refinements, beam or UCT (Monte Carlo tree search).

Each node is a candidate valued by its feedback score. Expanding a node means one critic turn on
it and ``width`` refiner children written from that critique (sampled at ``temperature`` for
diversity, concurrently). LATS (Zhou et al. 2024) and RethinkMCTS (2024) search this way with
execution feedback as the value. ``beam`` keeps the best ``beam`` nodes of each level;
``uct`` repeatedly descends from the root by UCB1 (mean value + ``exploration`` ·
sqrt(ln N_parent / N_child)), expands the leaf it reaches and backs the children's scores up
the path. Both stop as soon as a candidate passes every check.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import disagreement
from .selection import TieBreak, break_ties

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..store.graph import Turn
    from ..task import Task


class Params(BaseModel):
    """Shape and budget of the search."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["beam", "uct"] = "beam"
    initial: int = Field(default=2, ge=1, le=64)  # solver samples at the root
    width: int = Field(default=2, ge=1, le=16)  # refiner children per expansion
    depth: int = Field(default=3, ge=1, le=32)  # refinements along any path
    beam: int = Field(default=2, ge=1, le=32)  # beam mode: nodes kept per level
    iterations: int = Field(default=6, ge=1, le=1000)  # uct mode: expansions
    exploration: float = Field(default=1.0, ge=0.0, le=10.0)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    tie_break: TieBreak = "latest"  # among equally good nodes, the most confident (selection.py)


def check_task(params: Params, task: Task) -> None:
    """``tie_break: disagreement`` needs a Python entry point to call."""
    disagreement.check_task(params.tie_break, task)


async def _expand(run: RunContext, node: Turn, params: Params) -> list[Turn]:
    critique = await run.maybe_turn("critic", parents=[node])
    if critique is None:
        return []
    return await run.sample("refiner", params.width, parents=[node, critique], temperature=params.temperature)


def _value(turn: Turn) -> tuple:
    return (turn.passed, turn.score or 0.0, turn.seq)


async def _beam(run: RunContext, roots: list[Turn], params: Params) -> str:
    frontier = roots
    for _ in range(params.depth):
        children: list[Turn] = []
        for node in sorted(frontier, key=_value, reverse=True)[: params.beam]:  # best first
            kids = await _expand(run, node, params)
            if any(k.passed for k in kids):
                return "solved"
            children += kids
        if not children:
            break
        frontier = children
    return run.refused or "max_depth"


async def _uct(run: RunContext, roots: list[Turn], params: Params) -> str:
    visits = {t.id: 1 for t in roots}
    value = {t.id: t.score or 0.0 for t in roots}
    children: dict[str, list[Turn]] = {"root": list(roots)}
    depth = {t.id: 0 for t in roots}

    def ucb(parent: str, child: Turn) -> float:
        total = sum(visits[c.id] for c in children[parent])
        return value[child.id] / visits[child.id] + params.exploration * math.sqrt(math.log(total) / visits[child.id])

    for _ in range(params.iterations):
        path, parent = [], "root"
        while children.get(parent):
            node = max(children[parent], key=lambda c: (ucb(parent, c), c.seq))
            path.append(node)
            parent = node.id
        leaf = path[-1]
        if depth[leaf.id] >= params.depth:
            visits[leaf.id] += 1  # a leaf at full depth: count the visit so others get their turn
            continue
        kids = await _expand(run, leaf, params)
        if not kids:
            return run.refused or "exhausted"
        children[leaf.id] = kids
        for kid in kids:
            visits[kid.id], value[kid.id], depth[kid.id] = 1, kid.score or 0.0, depth[leaf.id] + 1
            for ancestor in path:  # back up each child's value along the path
                visits[ancestor.id] += 1
                value[ancestor.id] += kid.score or 0.0
        if any(k.passed for k in kids):
            return "solved"
    return "iterations"


async def run(run: RunContext, params: Params) -> str:
    """Sample the roots, then search; returns the stop reason."""
    roots = await run.sample("solver", params.initial, temperature=params.temperature)
    if not roots:
        return run.refused or "exhausted"
    if any(r.passed for r in roots):
        reason = "solved"
    else:
        reason = await (_beam(run, roots, params) if params.mode == "beam" else _uct(run, roots, params))
    await break_ties(run, params.tie_break)
    return reason
