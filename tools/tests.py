"""Feedback kind `tests`: the task's unit tests against the candidate.

Python: pytest code that imports the candidate as module `solution`. C: a C file with `main()`
that includes `solution.c`; a failed assert or a non-zero exit fails the check.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback, trim
from agentloop.checks.ctoolchain import build, listing, parse_diagnostics
from agentloop.checks.pytest_runner import TEST_FILE, run_pytest


class Config(BaseModel):
    """`code`: the test source (pytest for Python, a C program for C)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run the tests; the score is the fraction of tests that passed."""
    limits = {"timeout_s": ctx.task.sandbox.timeout_s, "memory_mb": ctx.task.sandbox.memory_mb}
    if ctx.task.language == "c":
        return await _check_c(code, config, ctx, limits)
    async with ctx.sandbox.workspace({"solution.py": code, TEST_FILE: config.code}) as ws:
        return await run_pytest(ws, kind="tests", plain=ctx.task.sandbox.results == "plain", **limits)


async def _check_c(code: str, config: Config, ctx: CheckContext, limits: dict) -> Feedback:
    async with ctx.sandbox.workspace({"solution.c": code, "test_task.c": config.code}) as ws:
        built = await build(ws, ["test_task.c"], "test_task", **limits)
        if not built.ok:
            return Feedback(kind="tests", passed=False, score=0.0,
                            summary=f"The tests do not compile:\n{listing(built.stderr)}",
                            details={"diagnostics": parse_diagnostics(built.stderr), "status": built.status})
        result = await ws.run(["./test_task"], **limits)
    if result.ok:
        return Feedback(kind="tests", passed=True, score=1.0, summary="The tests passed.")
    tail = trim(result.stderr[-2000:] + result.stdout[-1000:], 1500)
    return Feedback(kind="tests", passed=False, score=0.0,
                    summary=f"The tests failed ({result.status}, exit {result.returncode}):\n{tail}",
                    details={"status": result.status, "returncode": result.returncode, "output_tail": tail})
