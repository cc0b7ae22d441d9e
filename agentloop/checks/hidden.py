"""The one hidden-test verdict: how a candidate is scored on tests no agent ever sees.

Used by the orchestrator for a run's submission and by the sweep for every other candidate, so a
candidate scores the same whichever path reaches it: the task's ``hidden_tests`` run as a
``tests`` check (after the task's ``preamble``), and a Python candidate the tamper scan flags
passes nothing, whatever the tests said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.telemetry import traced_hidden
from ..task import FeedbackSpec
from .runner import run_checks, scan_for

if TYPE_CHECKING:
    from ..sandbox import Sandbox
    from ..task import Task


@traced_hidden
async def hidden_verdict(candidate: str | None, task: Task, sandbox: Sandbox) -> dict[str, Any]:
    """``{"passed", "score", "summary"}`` of the hidden tests on ``candidate`` (None: no candidate)."""
    if candidate is None:
        return {"passed": False, "score": 0.0, "summary": "no candidate to test"}
    [fb] = await run_checks(candidate, task, sandbox, specs=[FeedbackSpec(kind="tests", code=task.hidden_tests)])
    flagged = scan_for(candidate, task)  # a candidate that tampers with the harness passes nothing
    if flagged is not None:
        return {"passed": False, "score": 0.0, "summary": f"{flagged.summary}\n(hidden tests: {fb.summary})"}
    return {"passed": fb.passed, "score": fb.score, "summary": fb.summary}
