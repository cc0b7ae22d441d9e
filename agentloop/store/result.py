"""The result of a run: the fields of ``agentloop run --json`` (SPEC §2) plus the graph of turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.status import RunStatus
from ..models.base import Usage
from .graph import Turn, TurnGraph


@dataclass(frozen=True)
class RunResult:
    """What a run produced. ``to_json`` is exactly the object ``--json`` prints."""

    run_id: str
    task: str
    status: RunStatus
    solution: str | None
    score: float | None
    turns: int
    tokens: Usage
    seconds: float
    hidden_tests: dict[str, Any] | None
    stop_reason: str | None = None
    error: str | None = None
    objective: dict[str, Any] | None = None  # the scored objective (``objective_of``); None without a score check
    graph: TurnGraph = field(default_factory=TurnGraph, repr=False, compare=False)

    @property
    def solved(self) -> bool:
        """True when every check passed (and the hidden tests, where given)."""
        return self.status == RunStatus.SOLVED

    @classmethod
    def build(cls, *, run_id: str, task: str, status: RunStatus, best: Turn | None, graph: TurnGraph, seconds: float,
              hidden: dict[str, Any] | None, stop_reason: str | None, error: str | None) -> RunResult:
        """Assemble the result from the finished graph."""
        return cls(run_id=run_id, task=task, status=status, solution=best.candidate if best else None,
                   score=best.score if best else None, turns=len(graph), tokens=graph.usage(),
                   seconds=round(seconds, 3), hidden_tests=hidden, stop_reason=stop_reason, error=error,
                   objective=objective_of(graph, best), graph=graph)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of SPEC §2 (plus ``stop_reason`` and ``error``)."""
        return {"run_id": self.run_id, "task": self.task, "status": str(self.status), "solution": self.solution,
                "score": self.score, "turns": self.turns,
                "tokens": {"prompt": self.tokens.prompt_tokens, "completion": self.tokens.completion_tokens,
                           "cached": self.tokens.cached_tokens},
                "cost_usd": self.tokens.cost_usd, "seconds": self.seconds,
                "hidden_tests": None if self.hidden_tests is None else {"passed": self.hidden_tests["passed"]},
                "stop_reason": self.stop_reason, "error": self.error, "objective": self.objective}

    @classmethod
    def from_json(cls, data: dict[str, Any], graph: TurnGraph) -> RunResult:
        """Rebuild a stored result (``to_json``'s output) around its graph."""
        return cls(run_id=data["run_id"], task=data["task"], status=RunStatus(data["status"]), solution=data["solution"],
                   score=data["score"], turns=data["turns"],
                   tokens=Usage(data["tokens"]["prompt"], data["tokens"]["completion"], data["tokens"].get("cached", 0),
                                data.get("cost_usd")), seconds=data["seconds"],
                   hidden_tests=data["hidden_tests"], stop_reason=data.get("stop_reason"), error=data.get("error"),
                   objective=data.get("objective"), graph=graph)


def objective_of(graph: TurnGraph, submitted: Turn | None) -> dict[str, Any] | None:
    """The run's scored objective, from its candidates' ``score`` checks; None when none has a value.

    ``best`` is the best raw score any candidate reached (``turn``: the earliest to reach it),
    ``submitted`` the submitted candidate's (None when it was not scored, e.g. a cascade skipped
    its evaluator), ``reached`` whether any candidate reached ``target``; ``best_score`` and
    ``submitted_score`` are the same on the check's [0, 1] scale (its place in ``bounds``, 1 best;
    a skipped evaluator scores 0), comparable across tasks.
    """
    scored = [(t, f) for t in graph.candidates() for f in t.feedback
              if f.kind == "score" and isinstance(f.details.get("objective"), (int, float))]
    if not scored:
        return None
    direction = scored[0][1].details.get("direction", "maximize")
    sign = 1.0 if direction == "maximize" else -1.0
    turn, best = max(scored, key=lambda tf: (sign * tf[1].details["objective"], -tf[0].seq))
    mine = [f for f in (submitted.feedback if submitted is not None else ()) if f.kind == "score"]
    return {"best": best.details["objective"], "best_score": best.score, "turn": turn.id,
            "submitted": mine[0].details.get("objective") if mine else None,
            "submitted_score": mine[0].score if mine else None,
            "target": best.details.get("target"), "direction": direction, "reached": any(f.passed for _, f in scored)}
