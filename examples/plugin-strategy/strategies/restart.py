"""``restart``: a few repairs of one candidate, then a fresh start, instead of repairing one candidate forever.

Olausson et al. 2024 ("Is Self-Repair a Silver Bullet for Code Generation?", ICLR) found that at
an equal budget, drawing new samples often beats repairing one: a model that repairs its own
wrong idea tends to stay with it. ``restart`` spends ``repairs`` critique-and-refine rounds on a
candidate, and if it still fails, starts over from a new solver sample, ``restarts`` times at most.

This file is a strategy plugin: agentloop finds it because it lies in ``strategies/`` next to
the task file that names it (``strategy: {name: restart}``); see docs/plugins.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from agentloop.engine.context import RunContext  # the strategy API; annotations only


class Params(BaseModel):
    """``restarts``: fresh solver samples at most; ``repairs``: critique-and-refine rounds per sample;
    ``temperature``: the sampling temperature of each fresh start after the first, for diversity."""

    model_config = ConfigDict(extra="forbid")  # a typo in the task file is an error with its line

    restarts: int = Field(default=3, ge=1, le=100)
    repairs: int = Field(default=1, ge=0, le=100)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)


async def run(run: RunContext, params: Params) -> str:
    """Returns the stop reason: ``solved``, or ``restarts`` when every start failed."""
    for start in range(params.restarts):
        best = await run.turn("solver", parents=[], temperature=params.temperature if start else None)
        for _ in range(params.repairs):
            if best.passed:
                break
            critique = await run.turn("critic", parents=[best])
            best = await run.turn("refiner", parents=[best, critique])
        if best.passed:
            return "solved"
    return "restarts"
