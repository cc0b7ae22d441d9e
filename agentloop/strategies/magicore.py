"""``magicore``: spend compute where the problem needs it.

MAgICoRe (Chen et al. 2024), after Snell et al. (2024) on compute-optimal allocation. First
``samples`` candidates are drawn concurrently. If at least ``easy_fraction`` of them pass every
check the problem is easy: aggregate (the most common passing solution, by normalized text,
wins) and stop. Otherwise it is hard: the ``focus`` best candidates each get targeted
refinement — a reviewer (critic) turn on their real feedback, then a refiner turn — for up to
``rounds`` rounds, stopping as soon as one passes.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..store.graph import Turn


class Params(BaseModel):
    """Sampling width, the easy/hard threshold, and how much refinement a hard problem gets."""

    model_config = ConfigDict(extra="forbid")

    samples: int = Field(default=4, ge=1, le=64)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    easy_fraction: float = Field(default=0.5, gt=0.0, le=1.0)
    focus: int = Field(default=2, ge=1, le=16)
    rounds: int = Field(default=2, ge=1, le=32)


def _key(turn: Turn) -> str:
    return " ".join((turn.candidate or "").split())


async def _refine(run: RunContext, start: Turn, rounds: int) -> Turn:
    current = start
    for _ in range(rounds):
        if current.passed:
            break
        review = await run.turn("critic", parents=[current])
        child = await run.turn("refiner", parents=[current, review])
        current = max((current, child), key=lambda t: (t.passed, t.score or 0.0, t.seq))
    return current


async def run(run: RunContext, params: Params) -> str:
    """Route by difficulty; returns ``easy``, ``solved`` or ``hard``."""
    samples = await run.sample("solver", params.samples, temperature=params.temperature)
    passing = [t for t in samples if t.passed]
    if samples and len(passing) / len(samples) >= params.easy_fraction:
        votes = Counter(_key(t) for t in passing)
        winner = max(passing, key=lambda t: (votes[_key(t)], -t.seq))
        run.choose(winner)
        return "easy"
    focus = sorted(samples, key=lambda t: (t.score or 0.0, -t.seq), reverse=True)[: params.focus]
    for start in focus:  # one at a time: the budget goes to the most promising first
        if (await _refine(run, start, params.rounds)).passed:
            return "solved"
    return run.refused or "hard"
