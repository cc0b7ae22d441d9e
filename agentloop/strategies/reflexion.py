"""``reflexion``: after each failed attempt the critic writes a reflection into a memory that
every later attempt reads.

Reflexion (Shinn et al. 2023). Each attempt is a fresh solver turn (a new context) whose prompt
lists the reflections so far, so the memory — not a growing conversation — carries what was
learned. Attempts are checked by the task's real feedback, never by model-written tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..store.graph import Turn


class Params(BaseModel):
    """``max_attempts`` fresh attempts at most; ``memory``: how many recent reflections each one sees."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=4, ge=1, le=100)
    memory: int = Field(default=3, ge=1, le=50)


async def run(run: RunContext, params: Params) -> str:
    """Attempt, reflect, attempt again with the memory; returns ``solved`` or ``max_attempts``."""
    reflections: list[Turn] = []
    for _ in range(params.max_attempts):
        attempt = await run.turn("solver", parents=reflections[-params.memory:])
        if attempt.passed:
            return "solved"
        reflections.append(await run.turn("critic", parents=[attempt]))
    return "max_attempts"
