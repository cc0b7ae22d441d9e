"""The verdict of one check on one candidate (``Feedback``), what a check may use
(``CheckContext``), and how verdicts add up: the plain records every other part reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.confidence import EarlyStop
    from ..sandbox import Sandbox
    from ..task import Task

SUMMARY_LIMIT = 2000  # what the next prompt shows of one check
STOPPED = "confidence"  # the kind of the one feedback entry of a reply stopped for low confidence


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check: a bad candidate is ``passed=False``, never an exception."""

    kind: str
    passed: bool
    score: float
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    weight: float = 1.0
    advisory: bool = False  # shown to the agents, never counted in `passed` or the score (model-written tests)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the store and ``show --json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        """Inverse of ``to_dict``."""
        return cls(**data)


# ask(template_role, variables, schema) -> Structured: a structured model call made for a check
Asker = Callable[[str, dict[str, Any], type], Awaitable[Any]]


@dataclass(frozen=True)
class CheckContext:
    """What a feedback kind may use: the task, the sandbox, the checks already run on this
    candidate, and ``ask`` for kinds that consult a model (None where no model is available)."""

    task: Task
    sandbox: Sandbox
    earlier: tuple[Feedback, ...] = ()
    ask: Asker | None = None


def trim(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Bound untrusted text: keep the head and the tail, which is where errors usually are."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters cut] …\n{text[-half:]}"


def combined_score(feedback: list[Feedback]) -> float:
    """Weighted mean of the checks' scores (advisory ones aside); no checks scores 0."""
    counted = [f for f in feedback if not f.advisory]
    total = sum(f.weight for f in counted)
    if total <= 0:
        return 0.0
    return round(sum(f.score * f.weight for f in counted) / total, 4)


def all_passed(feedback: list[Feedback]) -> bool:
    """True when there is at least one real check and every real one passed (advisory ones aside)."""
    counted = [f for f in feedback if not f.advisory]
    return bool(counted) and all(f.passed for f in counted)


def stopped_early(stop: EarlyStop | None) -> Feedback | None:
    """The one failing entry of a candidate whose reply was stopped for low confidence, instead of its checks.

    A cut reply is unfinished code: checking it would spend a sandbox run to learn nothing, and
    its failing verdict keeps it from ever being submitted over a finished candidate.
    """
    if stop is None:
        return None
    return Feedback(kind=STOPPED, passed=False, score=0.0, summary=stop.describe(), details=stop.to_dict())
