"""Feedback kind `judge`: an LLM's score in [0, 1] against a rubric, with a short rationale.

The judge is the run's `judge` model if the task names one, else the critic's (SPEC §1). Its
reply is schema-constrained JSON (a grammar on llama.cpp, `response_format` on litellm), with one
re-ask if invalid. The score enters the candidate's weighted score; the judge can never turn a
failing execution check into a pass, because a candidate passes only when every check passes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback


class Verdict(BaseModel):
    """What the judge must return."""

    score: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(max_length=1000)


class Config(BaseModel):
    """`rubric`: what the judge scores; `pass_score`: below it the check fails (default 0: any
    verdict passes). No usable verdict at all (invalid twice, the judge model failed) fails."""

    model_config = ConfigDict(extra="forbid")

    rubric: str = Field(min_length=1)
    pass_score: float = Field(default=0.0, ge=0.0, le=1.0)


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Ask the judge model; an invalid reply after one re-ask is a failed check, never a crash."""
    if ctx.ask is None:
        return Feedback(kind="judge", passed=False, score=0.0, summary="no judge model is available here")
    earlier = [{"kind": f.kind, "passed": f.passed, "summary": f.summary} for f in ctx.earlier]
    reply = await ctx.ask("judge", {"rubric": config.rubric, "code": code, "earlier": earlier}, Verdict)
    calls = len(reply.completions)  # recorded so a resumed run can skip the scripted replies they used
    if reply.value is None:
        return Feedback(kind="judge", passed=False, score=0.0, summary=f"The judge gave no usable verdict: {reply.error}",
                        details={"error": reply.error, "model_calls": calls})
    verdict: Verdict = reply.value
    passed = verdict.score >= config.pass_score
    summary = f"Judge score {verdict.score:.2f} for rubric {config.rubric!r}: {verdict.rationale.strip()}"
    return Feedback(kind="judge", passed=passed, score=verdict.score, summary=summary,
                    details={"score": verdict.score, "rationale": verdict.rationale, "rubric": config.rubric,
                             "prompt": [dict(m) for m in reply.messages], "model_calls": calls})
