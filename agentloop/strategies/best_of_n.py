"""``best_of_n``: N independent candidates generated concurrently, each checked; the best by score wins.

Repeated sampling as in Large Language Monkeys (Brown et al. 2024): coverage grows log-linearly
with samples. Unlike DSPy's BestOfN, the N attempts run at the same time (one asyncio task each),
and with ``early_stop`` the others are cancelled as soon as one passes every check.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from .selection import TieBreak, break_ties

if TYPE_CHECKING:
    from ..orchestrator import Run


class Params(BaseModel):
    """``n`` samples at ``temperature``; ``early_stop`` cancels the rest once one passes;
    ``tie_break`` picks among equally good candidates by token confidence (selection.py)."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=4, ge=1, le=256)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    early_stop: bool = True
    tie_break: TieBreak = "latest"


class _Passed(Exception):
    pass


async def run(run: Run, params: Params) -> str:
    """Sample, check, pick; returns ``solved`` or ``samples``."""
    async def sample() -> None:
        turn = await run.maybe_turn("solver", parents=[], temperature=params.temperature)
        if turn is not None and params.early_stop and turn.passed:
            raise _Passed  # ends the task group: the other samples are cancelled, their sandboxes killed

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(params.n):
                group.create_task(sample())
    except* _Passed:
        pass
    break_ties(run, params.tie_break)
    best = run.graph.best()
    if best is not None and best.passed:
        return "solved"
    return run.refused or "samples"
