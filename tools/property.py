"""Feedback kind `property`: hypothesis property tests against the candidate.

Runs like `tests` (pytest in the sandbox, verdict from the report channel) with a fixed-seed,
bounded hypothesis profile. The shrunk counterexample (hypothesis's minimal failing test case, sent
as data by the report channel's observability hook) leads the next prompt: "test_fizz(n=5)" is the
most useful line there is.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback
from agentloop.checks.pytest_runner import TEST_FILE, run_pytest

# a pytest plugin module (-p) so the profile is active before the tests are even imported,
# and the task's test file keeps its own line numbers
_PLUGIN = "agentloop_hypothesis_profile"
_PROFILE = """from hypothesis import HealthCheck, settings
settings.register_profile("agentloop", max_examples={max_examples}, derandomize=True, database=None,
                          deadline=None, print_blob=False, suppress_health_check=list(HealthCheck))
settings.load_profile("agentloop")
"""
# The text fallback (a failure the channel sent no example for): the call hypothesis prints, with
# one level of nested brackets in its arguments, in both wordings hypothesis has used
# ("Falsifying example:" before 6.159, "Failing test case:" since).
_FAILING = re.compile(r"(?:Falsifying example|Failing test case): (\w+\((?:[^()]|\([^()]*\))*\))")
_PYTEST_MARGIN = re.compile(r"^E {1,3}", re.MULTILINE)


class Config(BaseModel):
    """`code`: pytest code using hypothesis; `max_examples` bounds the search (derandomized: same every run)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    max_examples: int = Field(default=100, ge=1, le=10_000)


def counterexamples(failures: list[dict]) -> list[str]:
    """Each failure's shrunk failing call: from hypothesis's observations when sent, else from its printed text."""
    out = []
    for failure in failures:
        if examples := failure.get("examples"):
            out += [_one_line(e["call"]) for e in examples if e.get("call")]
            continue
        text = failure.get("message", "") + "\n" + _PYTEST_MARGIN.sub("", failure.get("traceback", ""))
        if match := _FAILING.search(text):
            out.append(_one_line(match.group(1)))
    return out


def _one_line(call: str) -> str:
    """Hypothesis's multi-line call representation on one line: ``test_f(n=5)``."""
    call = " ".join(call.split())
    return re.sub(r",\s*\)$", ")", call.replace("( ", "("))


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run the properties; a failure's summary leads with its counterexample."""
    if ctx.task.language != "python":
        return Feedback(kind="property", passed=False, score=0.0, summary="property tests need language: python")
    files = {"solution.py": code, TEST_FILE: config.code, f"{_PLUGIN}.py": _PROFILE.format(max_examples=config.max_examples)}
    async with ctx.sandbox.workspace(files) as ws:
        fb = await run_pytest(ws, kind="property", timeout_s=ctx.task.sandbox.timeout_s,
                              memory_mb=ctx.task.sandbox.memory_mb, plugins=(_PLUGIN,),
                              plain=ctx.task.sandbox.results == "plain")
    found = counterexamples(fb.details.get("failures", []))
    if not found:
        return fb
    head = "\n".join(f"Counterexample: {c}" for c in found)
    return Feedback(kind="property", passed=False, score=fb.score, summary=f"{head}\n{fb.summary}",
                    details={**fb.details, "counterexamples": found})
