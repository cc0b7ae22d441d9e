"""``refine``: solve → feedback → critique → refine, until every check passes or ``max_turns``.

Self-Refine (Madaan et al. 2023) with tool-grounded critique as in CRITIC (Gou et al. 2023) and
Self-Debug (Chen et al. 2023): the critic reads the code and the real feedback, the refiner
writes the next candidate. Each round refines the best candidate so far, so one bad
refinement does not drag the rest of the run down with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..orchestrator import Run


class Params(BaseModel):
    """``max_turns``: how many candidates at most (the first solution plus refinements)."""

    model_config = ConfigDict(extra="forbid")

    max_turns: int = Field(default=4, ge=1, le=1000)


async def run(run: Run, params: Params) -> str:
    """Run the loop; returns the stop reason (``solved`` or ``max_turns``)."""
    best = await run.turn("solver", parents=[])
    for _ in range(params.max_turns - 1):
        if best.passed:
            break
        critique = await run.turn("critic", parents=[best])
        await run.turn("refiner", parents=[best, critique])
        best = run.graph.best()
    return "solved" if best.passed else "max_turns"
