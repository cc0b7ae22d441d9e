"""The data a report page shows: per turn its prompt, output, diff, feedback and usage; per run a summary.

Everything here came from a model or a program and is untrusted: strings are bounded in size
and the whole payload is serialised by ``script_json`` so it can sit inside a ``<script>``
element without ending it or being read as markup.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ..checks import trim
from ..store.graph import Turn, TurnGraph
from ..views.showing import isolation_levels

TEXT_LIMIT = 200_000  # characters of any one string in the page (head and tail kept)
LIST_LIMIT = 500  # items of any one list in feedback details
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def bounded(value: Any) -> Any:
    """``value`` with every string trimmed to ``TEXT_LIMIT`` and every list to ``LIST_LIMIT`` items."""
    if isinstance(value, str):
        return trim(value, TEXT_LIMIT)
    if isinstance(value, dict):
        return {str(k): bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v) for v in list(value)[:LIST_LIMIT]]
    return value


def script_json(data: Any) -> str:
    """JSON safe to embed in ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where the ``\\uXXXX`` forms mean the
    same, so ``</script>`` and ``<!--`` cannot appear; U+2028/9 are escaped for old JS parsers.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def parent_candidate(graph: TurnGraph, turn: Turn) -> Turn | None:
    """The nearest ancestor that wrote a candidate (a refiner's code parent, a Reflexion attempt's
    earlier attempt through its reflection), searched breadth-first, latest parent first."""
    frontier, seen = list(turn.parents), set()
    while frontier:
        nxt: list[str] = []
        for pid in sorted(frontier, key=lambda p: graph[p].seq, reverse=True):
            if pid in seen:
                continue
            seen.add(pid)
            parent = graph[pid]
            if parent.produces_candidate and parent.candidate is not None:
                return parent
            nxt.extend(parent.parents)
        frontier = nxt
    return None


def candidate_diff(graph: TurnGraph, turn: Turn) -> dict[str, Any] | None:
    """Unified diff of ``turn``'s candidate against its parent candidate, as lines; None if either is missing."""
    parent = parent_candidate(graph, turn) if turn.candidate is not None else None
    if parent is None or parent.candidate is None or turn.candidate is None:
        return None
    lines = difflib.unified_diff(parent.candidate.splitlines(), turn.candidate.splitlines(),
                                 fromfile=f"{parent.id} ({parent.role})", tofile=f"{turn.id} ({turn.role})",
                                 lineterm="")
    return {"from": parent.id, "lines": list(lines)}


def verdict(turn: Turn) -> str:
    """The colour class of a node: pass/fail for candidates, else the kind of turn."""
    if turn.produces_candidate:
        return "pass" if turn.passed else "fail"
    if turn.model.startswith("agentloop:"):
        return "note"
    return "critic" if turn.role == "critic" else "other"


def turn_payload(graph: TurnGraph, turn: Turn) -> dict[str, Any]:
    """Everything the detail panel shows for one turn."""
    return bounded({
        "id": turn.id, "seq": turn.seq, "role": turn.role, "model": turn.model, "parents": list(turn.parents),
        "verdict": verdict(turn), "score": turn.score, "seconds": turn.seconds,
        "messages": [{"role": m.get("role", ""), "content": m.get("content", "")} for m in turn.messages],
        "output": turn.output, "candidate": turn.candidate, "diff": candidate_diff(graph, turn),
        "feedback": [{"kind": f.kind, "passed": f.passed, "score": f.score, "weight": f.weight,
                      "advisory": f.advisory, "duration_s": f.duration_s, "summary": f.summary,
                      "details": f.details} for f in turn.feedback],
        "usage": turn.usage.to_dict(),
        "confidence": turn.confidence.to_dict() if turn.confidence is not None else None,
    })


def _hidden(result: dict[str, Any] | None, has_hidden: bool) -> str:
    if result is None:
        return "not run" if has_hidden else "none"
    return "passed" if result.get("passed") else "FAILED"


def summary(record: dict[str, Any], graph: TurnGraph) -> dict[str, Any]:
    """The run's headline facts; for a run that never finished, figures are summed from its turns."""
    result = record.get("result") or {}
    usage = graph.usage()
    best = graph.best()
    hidden = result.get("hidden_tests")
    task = record.get("task") or {}
    strategy = task.get("strategy")
    return bounded({
        "run_id": record["id"], "task": record["task_name"], "status": record["status"],
        "stop_reason": record.get("stop_reason"), "error": record.get("error"),
        "score": result.get("score", best.score if best else None),
        "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens,
                   "cached": usage.cached_tokens},
        "cost_usd": usage.cost_usd, "seconds": round(float(record.get("seconds") or 0.0), 3), "turns": len(graph),
        "hidden_tests": _hidden(hidden, bool(task.get("hidden_tests"))),
        # each level is a comma-separated description (layer, landlock, uid, cgroup): keep them apart
        "isolation": "; ".join(isolation_levels(graph)) or "not recorded",
        "strategy": strategy.get("name") if isinstance(strategy, dict) else strategy,
        "models": record.get("models") or {}, "prompt": task.get("prompt", ""),
    })


def evolve_payload(record: dict[str, Any], graph: TurnGraph) -> dict[str, Any] | None:
    """An ``evolve`` run's population (islands, MAP-Elites grids, migrations, lineage edges), bounded;
    None for other strategies. The grid's features become the rows (first) and columns (the rest)."""
    from ..strategies.evolve_view import params_of, population
    params = params_of(record.get("task") or {})
    if params is None:
        return None
    data = population(graph, params)
    for isle in data["islands"]:  # a feature's values share a type: they sort as themselves
        isle["rows"] = [_axis(v) for v in sorted({tuple(c["cell"][:1]) for c in isle["cells"]})]
        isle["columns"] = [_axis(v) for v in sorted({tuple(c["cell"][1:]) for c in isle["cells"]})]
        isle["at"] = {f"{_axis(c['cell'][:1])}|{_axis(c['cell'][1:])}": c for c in isle["cells"]}
    return bounded(data)


def _axis(values: tuple[Any, ...] | list[Any]) -> str:
    return " · ".join(str(v) for v in values) or "—"
