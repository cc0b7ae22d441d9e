"""Feedback kind `run`: run the candidate as a program on each case's stdin; compare stdout.

Trailing whitespace at line ends and at the end is ignored; everything else must match.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback, trim
from agentloop.checks.ctoolchain import build, listing
from agentloop.sandbox import Workspace, python_argv


class Case(BaseModel):
    """One run: what goes to stdin, what stdout must be, optional command-line arguments."""

    model_config = ConfigDict(extra="forbid")

    stdin: str = ""
    stdout: str
    args: list[str] = Field(default_factory=list)


class Config(BaseModel):
    """`cases`: at least one stdin/stdout pair."""

    model_config = ConfigDict(extra="forbid")

    cases: list[Case] = Field(min_length=1)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run every case; the score is the fraction of cases whose output matched."""
    limits = {"timeout_s": ctx.task.sandbox.timeout_s, "memory_mb": ctx.task.sandbox.memory_mb}
    name = "solution.c" if ctx.task.language == "c" else "solution.py"
    async with ctx.sandbox.workspace({name: code}) as ws:
        if ctx.task.language == "c":
            built = await build(ws, ["solution.c"], "solution", **limits)
            if not built.ok:
                return Feedback(kind="run", passed=False, score=0.0, summary=f"Does not compile:\n{listing(built.stderr)}",
                                details={"status": built.status})
            argv = ["./solution"]
        else:
            argv = python_argv("solution.py")
        results = [await _case(ws, argv, i, case, limits) for i, case in enumerate(config.cases)]
    good = sum(r["passed"] for r in results)
    lines = [f"{good} of {len(results)} cases produced the expected output."]
    for r in results:
        if not r["passed"]:
            lines.append(f"case {r['case']}: stdin {r['stdin']!r}\n  expected {r['expected']!r}\n  got      "
                         f"{r['got']!r} ({r['status']})" + (f"\n  stderr: {r['stderr']}" if r["stderr"] else ""))
    return Feedback(kind="run", passed=good == len(results), score=good / len(results),
                    summary="\n".join(lines), details={"cases": results})


async def _case(ws: Workspace, argv: list[str], index: int, case: Case, limits: dict) -> dict:
    result = await ws.run([*argv, *case.args], stdin=case.stdin.encode(), **limits)
    passed = result.ok and _normal(result.stdout) == _normal(case.stdout)
    return {"case": index, "passed": passed, "status": result.status, "stdin": trim(case.stdin, 200),
            "expected": trim(case.stdout, 300), "got": trim(result.stdout, 300), "stderr": trim(result.stderr, 600)}
