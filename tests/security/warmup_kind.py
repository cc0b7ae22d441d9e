"""Feedback kind `warmup`, copied into each hostile task's tools/ folder: one trivial execution
first, so that starting the sandbox's warm zygote is not timed as part of the hostile check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from agentloop.feedback import CheckContext, Feedback
from agentloop.sandbox import python_argv


class Config(BaseModel):
    """No options."""

    model_config = ConfigDict(extra="forbid")


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run ``pass`` in a fresh workspace; passes when that works."""
    async with ctx.sandbox.workspace({}) as ws:
        result = await ws.run(python_argv("-c", "pass"), timeout_s=60, memory_mb=256)
    return Feedback(kind="warmup", passed=result.ok, score=float(result.ok), summary=f"warm-up run: {result.status}")
