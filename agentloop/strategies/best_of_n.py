"""``best_of_n``: N independent candidates generated concurrently, each checked; the best by score wins.

Repeated sampling as in Large Language Monkeys (Brown et al. 2024): coverage grows log-linearly
with samples. Unlike DSPy's BestOfN, the N attempts run at the same time (one asyncio task each),
and with ``early_stop`` the others are cancelled as soon as one passes every check.

With ``confidence_stop: {warmup, keep}`` sampling is DeepConf's online mode (Fu et al. 2025,
facebookresearch/deepconf): the first ``warmup`` samples run to their end; the threshold is the
``100 (1 - keep)``-th percentile of their lowest group confidences (``confidence.stop_threshold``);
the other samples are generated with ``Request.stop_below`` set to it, so a sample whose sliding
window of token confidence falls below it is cut there. A cut sample is a turn like any other
(its tokens are spent) whose candidate is not checked but rejected (``feedback.stopped_early``).
The threshold is recomputed from the stored warm-up turns on resume, so a resumed run goes on the
same way. Warm-up samples without confidence (a model that reports none) give no threshold: then
nothing is stopped.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..core.confidence import stop_threshold
from ..engine.budget import BudgetExhausted
from . import disagreement
from .selection import TieBreak, break_ties

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..task import Task


class ConfidenceStop(BaseModel):
    """DeepConf online: ``warmup`` full samples set the threshold that keeps the top ``keep`` of them."""

    model_config = ConfigDict(extra="forbid")

    warmup: int = Field(ge=1, le=256)
    keep: float = Field(gt=0.0, le=1.0)  # DeepConf-low keeps 0.1, DeepConf-high 0.9


class Params(BaseModel):
    """``n`` samples at ``temperature``; ``early_stop`` cancels the rest once one passes;
    ``tie_break`` picks among equally good candidates by token confidence (selection.py);
    ``confidence_stop`` stops later samples whose confidence falls below the warm-up's (module docstring)."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=4, ge=1, le=256)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    early_stop: bool = True
    tie_break: TieBreak = "latest"
    confidence_stop: ConfidenceStop | None = None

    @field_validator("confidence_stop")
    @classmethod
    def _warmup_below_n(cls, value: ConfidenceStop | None, info: ValidationInfo) -> ConfidenceStop | None:
        n = info.data.get("n")
        if value is not None and n is not None and value.warmup >= n:
            raise ValueError(f"warmup ({value.warmup}) must be less than n ({n}): no sample would be left to stop")
        return value


def check_task(params: Params, task: Task) -> None:
    """``tie_break: disagreement`` needs a Python entry point to call."""
    disagreement.check_task(params.tie_break, task)


class _Passed(Exception):
    pass


async def run(run: RunContext, params: Params) -> str:
    """Sample, check, pick; returns ``solved`` or ``samples``."""
    async def sample(stop_below: float | None = None) -> None:
        try:
            turn = await run.turn("solver", parents=[], temperature=params.temperature, stop_below=stop_below)
        except BudgetExhausted as exc:  # as RunContext.maybe_turn: one refused sample must not cancel its siblings
            run.refused = exc.reason
            return
        if params.early_stop and turn.passed:
            raise _Passed  # ends the task group: the other samples are cancelled, their sandboxes killed

    stop = params.confidence_stop
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(stop.warmup if stop else params.n):
                group.create_task(sample())
        if stop is not None:
            # from the graph, so a resumed run recomputes it from the stored warm-up turns
            threshold = stop_threshold([t.confidence.lowest_group for t in run.graph.candidates()
                                        if t.confidence is not None and t.confidence.lowest_group is not None], stop.keep)
            run.emit("confidence_stop", threshold=threshold, warmup=stop.warmup, keep=stop.keep)
            async with asyncio.TaskGroup() as group:
                for _ in range(params.n - stop.warmup):
                    group.create_task(sample(threshold))
    except* _Passed:
        pass
    await break_ties(run, params.tie_break)
    best = run.graph.best()
    if best is not None and best.passed:
        return "solved"
    return run.refused or "samples"
