"""Progress events as typed records: one frozen dataclass per kind, each ``to_dict`` the sink's dict.

A run sends each event to its ``on_event`` sink (``arun(on_event=...)``, the CLI's progress lines)
as ``to_dict()``: ``{"event": NAME, "run_id": ..., FIELD: ...}``, fields in declaration order.
The records are what the code builds, so a misspelt or missing field fails where it is emitted
instead of reaching a sink that reads ``event.get(...)``; the dicts are what sinks receive, so
the sink API stays plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

EventSink = Callable[[dict[str, Any]], None]  # receives each event's ``to_dict()``


@dataclass(frozen=True)
class Event:
    """One progress event of run ``run_id``; ``name`` is its ``"event"`` value."""

    name: ClassVar[str]
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        """The dict a sink receives."""
        return {"event": self.name, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class Start(Event):
    """The run started (or, with ``resumed``, a stored run goes on)."""

    name: ClassVar[str] = "start"
    task: str
    resumed: bool


@dataclass(frozen=True)
class TurnDone(Event):
    """A turn finished and was committed: its checks' verdicts as (kind, passed) pairs."""

    name: ClassVar[str] = "turn"
    turn: str
    role: str
    score: float | None
    passed: bool
    verdicts: list[tuple[str, bool]]
    tokens: int


@dataclass(frozen=True)
class Replayed(Event):
    """A turn the store already held was handed back on resume instead of being recomputed."""

    name: ClassVar[str] = "replayed"
    turn: str
    role: str


@dataclass(frozen=True)
class RunWarning(Event):
    """Something the user should know that does not stop the run (e.g. weaker isolation)."""

    name: ClassVar[str] = "warning"
    message: str


@dataclass(frozen=True)
class ConfidenceStop(Event):
    """best_of_n's DeepConf early stop set its threshold from the warm-up samples."""

    name: ClassVar[str] = "confidence_stop"
    threshold: float | None
    warmup: int
    keep: float


@dataclass(frozen=True)
class End(Event):
    """The run ended with ``status`` (its outcome stored before this is sent)."""

    name: ClassVar[str] = "end"
    status: str
    stop_reason: str | None
    error: str | None


BY_NAME: dict[str, type[Event]] = {cls.name: cls for cls in (Start, TurnDone, Replayed, RunWarning, ConfidenceStop, End)}


def build(name: str, run_id: str, **values: Any) -> Event:
    """The record of event ``name``; a ``TypeError`` for an unknown name or a wrong field."""
    if name not in BY_NAME:
        raise TypeError(f"unknown event {name!r} (known: {', '.join(BY_NAME)})")
    return BY_NAME[name](run_id=run_id, **values)
