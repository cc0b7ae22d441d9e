"""What the report shows of an ``evolve`` run: its population, rebuilt from the stored turns.

The database is never stored (``evolve_db``); ``population`` replays the strategy's own
bookkeeping over the finished turns in sequence order — the first ``initial`` turns are the
seeds (seed ``i`` on island ``i mod islands``), child ``k`` was bred on island ``k mod islands``,
and after each batch the islands migrate when a ``migration_interval`` boundary was crossed —
with the same ``ProgramDatabase`` and admission rule as the live search, so the grid drawn is the
grid the run ended with. Edges: a child's first parent is its parent, the rest its inspirations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .evolve import Params, admissible, migrates, population_db

if TYPE_CHECKING:
    from ..store.graph import Turn, TurnGraph


def _objective(turn: Turn) -> float | None:
    values = [f.details["objective"] for f in turn.feedback
              if f.kind == "score" and isinstance(f.details.get("objective"), (int, float))]
    return values[0] if values else None


def params_of(task: dict[str, Any]) -> Params | None:
    """The stored task's ``evolve`` parameters; None for another strategy (or parameters this version rejects)."""
    strategy = task.get("strategy")
    if not isinstance(strategy, dict) or strategy.get("name") != "evolve":
        return None
    try:
        return Params.model_validate({k: v for k, v in strategy.items() if k != "name"})
    except ValidationError:
        return None


def population(graph: TurnGraph, params: Params) -> dict[str, Any]:
    """The run's islands (each a MAP-Elites grid of elites), where each turn was bred, the migrations,
    and the lineage edges split into parent and inspiration edges; plain data for the report."""
    db = population_db(params)
    turns = sorted(graph.candidates(), key=lambda t: t.seq)
    born: dict[str, int] = {}
    migrations: list[dict[str, Any]] = []
    for i, turn in enumerate(turns[: params.initial]):
        born[turn.id] = i % params.islands
        if admissible(turn):
            db.add(turn, born[turn.id])
    children = turns[params.initial:]
    for start in range(0, len(children), params.batch):
        for k, turn in enumerate(children[start:start + params.batch], start):
            born[turn.id] = k % params.islands
            if admissible(turn):
                db.add(turn, born[turn.id])
        end = min(len(children), start + params.batch)
        if migrates(start, end, params.migration_interval):
            migrations += [{"after": end, "from": a, "to": b, "turn": t} for a, b, t in db.migrate()]
    islands = [{"island": n, "cells": [{"cell": list(cell), "turn": t.id, "score": t.score, "passed": t.passed,
                                         "objective": _objective(t)}
                                        for cell, t in sorted(isle.grid.items(), key=lambda kv: repr(kv[0]))]}
               for n, isle in enumerate(db.islands)]
    parent_edges = [[t.parents[0], t.id] for t in turns if t.parents]
    inspiration_edges = [[p, t.id] for t in turns for p in t.parents[1:]]
    return {"features": list(params.features), "islands": islands, "born": born, "migrations": migrations,
            "edges": {"parent": parent_edges, "inspiration": inspiration_edges}}
