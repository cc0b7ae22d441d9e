"""Feedback kind `score`: a scored objective, measured by an evaluator program the task provides.

The evaluator (Python, `evaluator`) imports the candidate as `solution` and prints one JSON
object, `{"score": 0.73, "metrics": {"length": 120, "speed": 3.5}}`, as the last line of its
stdout. It runs in the sandbox behind the solution boundary (``agentloop.sandbox.score_runner``):
the candidate runs in a process of its own, what it prints never reaches the evaluator's
captured output, and the report comes back over a keyed channel the candidate cannot write
to. The report is bounded and validated here; anything else fails the check with one line
saying why. The check passes when the score reaches `target` (default: the best end of
`bounds`); its score in [0, 1] is the raw score's place between `bounds` (flipped for
`direction: minimize`), so the best score wins when no candidate reaches the target.
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentloop.checks import CheckContext, Feedback
from agentloop.sandbox import python_argv
from agentloop.sandbox.score_runner import received

EVALUATOR_FILE = "agentloop_evaluator.py"
MAX_METRICS = 32


class Config(BaseModel):
    """`evaluator`: Python code printing the JSON report; `target`, `direction`, `bounds` as above."""

    model_config = ConfigDict(extra="forbid")

    evaluator: str = Field(min_length=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    bounds: tuple[float, float] = (0.0, 1.0)  # raw scores mapped onto [0, 1] (clamped)
    target: float | None = None  # reached = solved; default: the best end of bounds

    @model_validator(mode="after")
    def _ordered(self) -> Config:
        low, high = self.bounds
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError("bounds must be two finite numbers, the lower first")
        return self

    def goal(self) -> float:
        """The raw score that counts as reached."""
        if self.target is not None:
            return self.target
        return self.bounds[1] if self.direction == "maximize" else self.bounds[0]


class Report(BaseModel):
    """What an evaluator may print: a finite score and up to 32 named finite metrics."""

    model_config = ConfigDict(extra="forbid", strict=True)

    score: float = Field(allow_inf_nan=False)
    metrics: dict[str, float] = Field(default_factory=dict, max_length=MAX_METRICS)

    @model_validator(mode="before")
    @classmethod
    def _ints_are_numbers(cls, data: object) -> object:
        # strict mode keeps "1" and true out; a JSON integer is still a number
        if isinstance(data, dict):
            for key in ("score",):
                if type(data.get(key)) is int:
                    data = {**data, key: float(data[key])}
            if isinstance(data.get("metrics"), dict):
                data = {**data, "metrics": {k: float(v) if type(v) is int else v for k, v in data["metrics"].items()}}
        return data

    @model_validator(mode="after")
    def _bounded(self) -> Report:
        for name, value in self.metrics.items():
            if not (0 < len(name) <= 64) or not math.isfinite(value):
                raise ValueError(f"metric {name[:64]!r}: names are 1-64 characters and values finite numbers")
        return self


def _fail(summary: str, **details: object) -> Feedback:
    return Feedback(kind="score", passed=False, score=0.0, summary=summary, details=dict(details))


def parse_report(stdout: str) -> Report | str:
    """The evaluator's report from its output's last non-empty line, or a one-line reason it is not one."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return "the evaluator printed nothing: it must print one JSON object {\"score\": number, \"metrics\": {...}}"
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return f"the evaluator's last line is not JSON: {lines[-1][:120]!r}"
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "report"
        return f"the evaluator's report is invalid: {where}: {str(err['msg']).removeprefix('Value error, ')}"


def verdict(report: Report, config: Config) -> Feedback:
    """The check's feedback for a valid report."""
    low, high = config.bounds
    place = min(1.0, max(0.0, (report.score - low) / (high - low)))
    normalised = place if config.direction == "maximize" else 1.0 - place
    goal = config.goal()
    reached = report.score >= goal if config.direction == "maximize" else report.score <= goal
    metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(report.metrics.items()))
    summary = (f"score {report.score:g} ({config.direction}, target {goal:g}: {'reached' if reached else 'not reached'})"
               + (f"; metrics: {metrics}" if metrics else ""))
    return Feedback(kind="score", passed=reached, score=normalised, summary=summary,
                    details={"objective": report.score, "metrics": dict(report.metrics), "target": goal,
                             "direction": config.direction})


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run the evaluator against the candidate in the sandbox; score and validate its report here."""
    if ctx.task.language != "python":
        return _fail("the score kind evaluates Python candidates only")
    key = secrets.token_hex(16)
    async with ctx.sandbox.workspace({"solution.py": code, EVALUATOR_FILE: config.evaluator}) as ws:
        result = await ws.run(python_argv("-m", "agentloop.sandbox.score_runner", EVALUATOR_FILE),
                              timeout_s=ctx.task.sandbox.timeout_s, memory_mb=ctx.task.sandbox.memory_mb,
                              channel=key.encode())
    msg = received(result.channel, key)
    base = {"status": result.status, "isolation": result.isolation}
    if msg is None:
        tail = result.stderr[-1000:].strip()
        return _fail(f"The evaluator produced no trustworthy report (status {result.status}).\n{tail}".strip(), **base)
    if isinstance(msg.get("error"), str):
        trace = str(msg.get("trace") or "")[-2000:]
        return _fail(f"The candidate could not be scored: {msg['error']}\n{trace}".strip(), **base)
    report = parse_report(str(msg.get("stdout", "")))
    if isinstance(report, str):
        return _fail(f"The candidate could not be scored: {report}", **base)
    fb = verdict(report, config)
    return Feedback(kind="score", passed=fb.passed, score=fb.score, summary=fb.summary, details={**fb.details, **base})
