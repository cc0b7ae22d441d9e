"""Run metrics: does feedback get incorporated, and what does a pass cost?

For each refinement (a candidate derived from a parent candidate): which checks flipped, whether
the whole verdict flipped, and whether the edit touched the lines the parent's feedback named
(compiler and lint diagnostics, traceback frames in ``solution.py``). Per run: candidates and
tokens per passing candidate, and the compute spent as the field measures it (``compute``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..store.graph import Turn, TurnGraph

_FRAME = re.compile(r"solution\.(?:py|c)[\":, line]+(\d+)")  # text: File "solution.py", line 3 / solution.c:12


def named_lines(turn: Turn) -> set[int]:
    """Lines of the candidate that its feedback points at."""
    lines: set[int] = set()
    for fb in turn.feedback:
        for item in fb.details.get("diagnostics", []) + fb.details.get("issues", []):
            if isinstance(item, dict) and isinstance(item.get("line"), int) and "solution" in str(item.get("file", "solution")):
                lines.add(item["line"])
        for failure in fb.details.get("failures", []):
            if "frames" in failure:  # pytest's own traceback entries, sent as data
                lines.update(f["line"] for f in failure["frames"] if f.get("file") in ("solution.py", "solution.c"))
            else:  # a C test program's assertion message
                lines.update(int(n) for n in _FRAME.findall(failure.get("traceback", "")))
    return lines


def changed_lines(before: str, after: str) -> set[int]:
    """1-based lines of ``before`` that the edit to ``after`` replaced or deleted (or inserted next to)."""
    out: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag != "equal":
            out.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return out


def incorporation(graph: TurnGraph, turn: Turn) -> dict[str, Any] | None:
    """How a refinement answered its parent's feedback; None for turns that refine nothing."""
    parent = next((graph[p] for p in turn.parents if graph[p].produces_candidate), None)
    if parent is None or not turn.produces_candidate:
        return None
    # advisory entries (model-written tests, traces) are information, not checks: nothing they say is fixed or broken
    before = {f.kind: f.passed for f in parent.feedback if not f.advisory}
    after = {f.kind: f.passed for f in turn.feedback if not f.advisory}
    named = named_lines(parent)
    touched = None
    if named and parent.candidate is not None and turn.candidate is not None:
        touched = bool(named & changed_lines(parent.candidate, turn.candidate))
    return {"turn": turn.id, "from": parent.id,
            "fixed": sorted(k for k, ok in after.items() if ok and before.get(k) is False),
            "broke": sorted(k for k, ok in after.items() if not ok and before.get(k) is True),
            "verdict_flipped": parent.passed != turn.passed, "named_lines": sorted(named),
            "touched_named_lines": touched}


def model_calls(turns: list[Turn]) -> int:
    """Model calls a run made: every agent turn, plus the judge calls its checks made."""
    calls = sum(1 for t in turns if not t.model.startswith("agentloop:"))
    return calls + sum(f.details.get("model_calls", 0) for t in turns for f in t.feedback)


def compute(graph: TurnGraph, seconds: float | None) -> dict[str, Any]:
    """The compute a run spent, on every axis an equal-compute comparison may equalise.

    ``tokens``: nominal (prompt + completion, what the model was shown and wrote);
    ``evaluated_tokens``: prompt tokens not served from a KV/prompt cache, plus completion;
    ``flops``: 2 x parameters x evaluated tokens, summed over calls (None when a model's
    parameter count is unknown, e.g. remote models); ``wall_s``: the run's wall seconds.
    """
    usage = graph.usage()
    return {"tokens": usage.total, "evaluated_tokens": usage.evaluated, "model_calls": model_calls(graph.turns()),
            "wall_s": None if seconds is None else round(seconds, 3), "flops": usage.flops}


def run_metrics(graph: TurnGraph, seconds: float | None = None) -> dict[str, Any]:
    """Incorporation per refinement, candidates and tokens per passing candidate, and compute spent."""
    candidates = graph.candidates()
    passes = sum(t.passed for t in candidates)
    usage = graph.usage()
    refinements = [m for t in candidates if (m := incorporation(graph, t)) is not None]
    touched = [m["touched_named_lines"] for m in refinements if m["touched_named_lines"] is not None]
    return {"candidates": len(candidates), "passing_candidates": passes,
            "candidates_per_pass": round(len(candidates) / passes, 3) if passes else None,
            "tokens_per_pass": round(usage.total / passes, 1) if passes else None,
            "refinements": refinements,
            "verdict_flips": sum(m["verdict_flipped"] for m in refinements),
            "touched_named_lines_rate": round(sum(touched) / len(touched), 3) if touched else None,
            **compute(graph, seconds)}
