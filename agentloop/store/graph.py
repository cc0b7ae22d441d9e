"""The graph of turns: a node per finished turn, an edge per "derived from".

A ``Turn`` is frozen once finished. ``TurnGraph`` keeps them on a ``networkx.DiGraph`` in the
order they finished, which is also the order a resumed run replays them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..checks import STOPPED, Feedback, all_passed
from ..core.confidence import Confidence
from ..models.base import Usage


@dataclass(frozen=True)
class Turn:
    """One agent turn: its prompt, the model's output, and for code-writing roles the candidate and its feedback."""

    id: str
    seq: int
    parents: tuple[str, ...]
    role: str
    model: str
    messages: tuple[dict[str, str], ...]
    prompt_hash: str
    output: str
    candidate: str | None = None
    feedback: tuple[Feedback, ...] = ()
    score: float | None = None
    usage: Usage = field(default_factory=Usage)
    started: float = 0.0
    seconds: float = 0.0
    confidence: Confidence | None = None  # the model's confidence in its reply (confidence.py), where measured

    @property
    def passed(self) -> bool:
        """True for a candidate whose every check passed."""
        return self.score is not None and all_passed(list(self.feedback))

    @property
    def stopped(self) -> bool:
        """True for a candidate whose reply was stopped for low confidence (feedback.stopped_early)."""
        return any(f.kind == STOPPED for f in self.feedback)

    @property
    def produces_candidate(self) -> bool:
        """True for turns of a role that produces a candidate (solver, refiner), whether or not one was parsed."""
        return self.score is not None

    @property
    def writes_code(self) -> bool:
        """Deprecated name of ``produces_candidate`` (a candidate may be text, not code)."""
        return self.produces_candidate

    def to_dict(self, *, messages: Sequence[dict[str, str]] | None = None) -> dict[str, Any]:
        """The turn as plain data (the shape of ``show --json``, plus timings).

        ``messages`` go in place of the turn's own: the store keeps only those a turn adds.
        """
        messages = self.messages if messages is None else messages
        return {"id": self.id, "seq": self.seq, "parents": list(self.parents), "role": self.role,
                "model": self.model, "messages": [dict(m) for m in messages], "prompt_hash": self.prompt_hash,
                "output": self.output, "candidate": self.candidate,
                "feedback": [f.to_dict() for f in self.feedback], "score": self.score,
                "usage": self.usage.to_dict(),
                "confidence": self.confidence.to_dict() if self.confidence is not None else None,
                "started": self.started, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Turn:
        """Inverse of ``to_dict``."""
        return cls(id=d["id"], seq=d["seq"], parents=tuple(d["parents"]), role=d["role"], model=d["model"],
                   messages=tuple(d["messages"]), prompt_hash=d["prompt_hash"], output=d["output"],
                   candidate=d["candidate"], feedback=tuple(Feedback.from_dict(f) for f in d["feedback"]),
                   score=d["score"], usage=Usage.from_dict(d["usage"]),
                   started=d.get("started", 0.0), seconds=d.get("seconds", 0.0),
                   confidence=Confidence.from_dict(d.get("confidence")))


class TurnGraph:
    """Finished turns and their derivation edges."""

    def __init__(self) -> None:
        self._g: nx.DiGraph[str] = nx.DiGraph()  # turn ids; each node's "turn" attribute is its Turn
        # kept up to date by `add` so that the per-turn questions (turns in order, tokens so far)
        # cost O(1) instead of a sort and a sum over the whole graph on every turn (P1)
        self._ordered: list[Turn] = []
        self._usage = Usage()

    def add(self, turn: Turn) -> None:
        """Add a finished turn; its parents must already be in the graph."""
        missing = [p for p in turn.parents if p not in self._g]
        if missing:
            raise ValueError(f"turn {turn.id} derives from unknown turns {missing}")
        if turn.id in self._g:  # a turn given again replaces the old one, as the node does
            self._ordered = [t for t in self._ordered if t.id != turn.id]
            self._usage = sum((t.usage for t in self._ordered), Usage())
        self._g.add_node(turn.id, turn=turn)
        for parent in turn.parents:
            self._g.add_edge(parent, turn.id)
        bisect.insort(self._ordered, turn, key=lambda t: t.seq)  # concurrent turns may finish out of order
        self._usage = self._usage + turn.usage

    @classmethod
    def from_turns(cls, turns: list[Turn]) -> TurnGraph:
        """A graph of stored turns, added in order."""
        graph = cls()
        for turn in turns:
            graph.add(turn)
        return graph

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def __getitem__(self, turn_id: str) -> Turn:
        return self._g.nodes[turn_id]["turn"]

    def turns(self) -> list[Turn]:
        """Every turn, in the order they finished."""
        return list(self._ordered)

    def children(self, turn_id: str) -> list[Turn]:
        """Turns derived directly from ``turn_id``."""
        return sorted((self[c] for c in self._g.successors(turn_id)), key=lambda t: t.seq)

    def candidates(self) -> list[Turn]:
        """Turns that produced a candidate (scored), in order."""
        return [t for t in self.turns() if t.produces_candidate]

    def best(self) -> Turn | None:
        """The best candidate: all checks passed first, then highest score, then finished over stopped for low
        confidence (an unfinished reply is never submitted over a finished one that scores as well), then the latest.

        On a tie the latest wins: it is the most refined, and a loop that continues from it keeps
        the newest attempt in its conversation instead of repeating an old one.
        """
        cands = self.candidates()
        return max(cands, key=lambda t: (t.passed, t.score or 0.0, not t.stopped, t.seq)) if cands else None

    def tied(self) -> list[Turn]:
        """The candidates exactly as good as the best on the checks (none if there is no candidate):
        what a ``tie_break`` chooses among."""
        best = self.best()
        if best is None:
            return []
        # a reply stopped for low confidence ties with a finished one only if the best was stopped too
        return [t for t in self.candidates() if (t.passed, t.score, t.stopped) == (best.passed, best.score, best.stopped)]

    def usage(self) -> Usage:
        """Tokens summed over every turn."""
        return self._usage
