"""The result of a run: the fields of ``agentloop run --json`` (SPEC §2) plus the graph of turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .graph import Turn, TurnGraph
from .models.base import Usage
from .status import RunStatus


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
                   seconds=round(seconds, 3), hidden_tests=hidden, stop_reason=stop_reason, error=error, graph=graph)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of SPEC §2 (plus ``stop_reason`` and ``error``)."""
        return {"run_id": self.run_id, "task": self.task, "status": str(self.status), "solution": self.solution,
                "score": self.score, "turns": self.turns,
                "tokens": {"prompt": self.tokens.prompt_tokens, "completion": self.tokens.completion_tokens,
                           "cached": self.tokens.cached_tokens},
                "cost_usd": self.tokens.cost_usd, "seconds": self.seconds,
                "hidden_tests": None if self.hidden_tests is None else {"passed": self.hidden_tests["passed"]},
                "stop_reason": self.stop_reason, "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any], graph: TurnGraph) -> RunResult:
        """Rebuild a stored result (``to_json``'s output) around its graph."""
        return cls(run_id=data["run_id"], task=data["task"], status=RunStatus(data["status"]), solution=data["solution"],
                   score=data["score"], turns=data["turns"],
                   tokens=Usage(data["tokens"]["prompt"], data["tokens"]["completion"], data["tokens"].get("cached", 0),
                                data.get("cost_usd")), seconds=data["seconds"],
                   hidden_tests=data["hidden_tests"], stop_reason=data.get("stop_reason"), error=data.get("error"),
                   graph=graph)
