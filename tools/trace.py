"""Feedback kind `trace`: the values of a failing call's local variables, line by line (LDB).

After the task's checks, for a candidate that failed one, the candidate's function is called
again on a failing input under a tracer in the sandbox (``agentloop.sandbox.trace_runner``), and
the locals each line of the candidate changed are listed in order, so the critic and the refiner
can see where the state first goes wrong (Zhong et al. 2024, "Debug like a Human", arXiv
2402.16906; LDB shows intermediate states per basic block, this kind per line).

Which calls: the calls a failing ``tests`` check made into the candidate, recorded as plain data
by the solution boundary (``details.failures[].calls`` of an earlier check on this candidate, the
last call of each failing test: the one whose result or exception failed it), then the task
author's own ``calls`` (Python expressions such as ``fizzbuzz(15)``). Never hidden tests: they
are not run until after the loop, and never in the same sandbox run.

Advisory: the entry is shown to the agents and never counted in ``passed`` or the score (weight
0), because the trace is produced by running the candidate itself: it is information, not a
verdict, and a candidate could even write its own. Everything it says is bounded (steps, variables,
characters per value, summary size) and escaped, here as well as in the sandbox.
"""

from __future__ import annotations

import ast
import json
import secrets

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentloop.checks import CheckContext, Feedback
from agentloop.sandbox import python_argv
from agentloop.sandbox.plain import decode
from agentloop.sandbox.trace_runner import Renderer, escape

SPEC_FILE = "agentloop_trace.json"


class Config(BaseModel):
    """Which calls to trace and how much of each to show (every bound has a ceiling)."""

    model_config = ConfigDict(extra="forbid")

    calls: list[str] = Field(default_factory=list, max_length=5)  # e.g. ["fizzbuzz(15)"], after the failing tests'
    from_tests: bool = True  # trace the calls of failing tests recorded by earlier checks
    always: bool = False  # trace `calls` even when every earlier check passed
    max_calls: int = Field(default=1, ge=1, le=5)
    head_steps: int = Field(default=24, ge=1, le=200)  # steps shown from the start of a call
    tail_steps: int = Field(default=8, ge=0, le=100)  # and from its end
    max_events: int = Field(default=20_000, ge=1, le=1_000_000)  # steps traced before the call runs on untraced
    max_vars: int = Field(default=8, ge=1, le=50)  # locals looked at per step
    value_chars: int = Field(default=60, ge=8, le=1000)
    repr_calls: int = Field(default=100, ge=0, le=10_000)  # user-defined __repr__ calls per traced call
    summary_chars: int = Field(default=1800, ge=200, le=2000)

    @field_validator("calls")
    @classmethod
    def _expressions(cls, value: list[str]) -> list[str]:
        for expr in value:
            try:
                ast.parse(expr, mode="eval")
            except SyntaxError:
                raise ValueError(f"{expr[:60]!r} is not a Python expression such as fizzbuzz(15)") from None
        return value

    def limits(self, seconds: float) -> dict:
        """The bounds the sandbox side applies."""
        return {"head_steps": self.head_steps, "tail_steps": self.tail_steps, "max_events": self.max_events,
                "max_vars": self.max_vars, "value_chars": self.value_chars, "repr_calls": self.repr_calls,
                "seconds": seconds}


def failing_calls(earlier: tuple[Feedback, ...]) -> list[dict]:
    """The last call of each failing test that earlier checks recorded, real checks before advisory ones."""
    out = []
    for fb in sorted((f for f in earlier if not f.passed), key=lambda f: f.advisory):
        for failure in fb.details.get("failures") or []:
            calls = failure.get("calls") if isinstance(failure, dict) else None
            if isinstance(calls, list) and calls and isinstance(calls[-1], dict):
                call = calls[-1]
                out.append({"function": str(call.get("function")), "args": call.get("args"),
                            "kwargs": call.get("kwargs"), "source": f"{fb.kind}: {str(failure.get('test'))[:80]}"})
    return out


def describe_call(call: dict, show: Renderer) -> str:
    """``f(1, [2])``: how a call reads, rendered from its plain data (escaped, bounded)."""
    if "expr" in call:
        return escape(call["expr"][:200])
    try:
        args, kwargs = decode(call.get("args") or {"T": []}), decode(call.get("kwargs") or {"D": []})
        parts = [show(a) for a in args] + [f"{escape(str(k)[:40])}={show(v)}" for k, v in kwargs.items()]
    except (ValueError, TypeError, RecursionError, AttributeError):
        parts = ["…"]
    return f"{escape(call['function'][:60])}({', '.join(parts)})"


def _advisory(passed: bool, summary: str, **details: object) -> Feedback:
    return Feedback(kind="trace", passed=passed, score=1.0 if passed else 0.0, summary=summary,
                    details=dict(details), weight=0.0, advisory=True)


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Trace the failing calls in the sandbox; advisory feedback, never counted."""
    if ctx.task.language != "python":
        return _advisory(True, "Nothing traced: the trace kind runs Python candidates only.")
    failed = any(not f.passed for f in ctx.earlier if not f.advisory)
    calls = failing_calls(ctx.earlier) if config.from_tests and failed else []
    if failed or config.always:
        calls += [{"expr": expr, "source": "calls"} for expr in config.calls]
    calls = calls[: config.max_calls]
    if not calls:
        why = "no check failed" if not failed else "no failing call was recorded as data (see docs/traces.md)"
        return _advisory(True, f"Nothing traced: {why}.")
    key = secrets.token_hex(16)
    spec = {"calls": [{k: v for k, v in c.items() if k != "source"} for c in calls],
            "limits": config.limits(ctx.task.sandbox.timeout_s * 0.8)}
    async with ctx.sandbox.workspace({"solution.py": code, SPEC_FILE: json.dumps(spec)}) as ws:
        result = await ws.run(python_argv("-m", "agentloop.sandbox.trace_runner", SPEC_FILE),
                              timeout_s=ctx.task.sandbox.timeout_s, memory_mb=ctx.task.sandbox.memory_mb,
                              channel=key.encode())
    traces = read_trace(result.channel, key, len(calls), config)
    show = Renderer(config.value_chars, 0)
    for trace, call in zip(traces["calls"], calls, strict=True):
        trace["call"], trace["source"] = describe_call(call, show), call["source"]
    summary = render(traces, code.splitlines(), config, result.status)
    return _advisory(False, summary, traces=traces["calls"], import_error=traces["import_error"],
                     status=result.status, isolation=result.isolation)


def _text(value: object, limit: int) -> str:
    return escape(value[:limit]) if isinstance(value, str) else ""


def _step(msg: dict, config: Config) -> dict:
    pairs = msg.get("vars") if isinstance(msg.get("vars"), list) else []
    step = {"n": msg.get("n") if type(msg.get("n")) is int else 0,
            "fn": _text(msg.get("fn"), 60), "line": msg.get("line") if type(msg.get("line")) is int else 0,
            "depth": min(msg["depth"], 20) if type(msg.get("depth")) is int else 1,
            "vars": [[_text(p[0], 40), _text(p[1], config.value_chars + 20)] for p in pairs[: config.max_vars]
                     if isinstance(p, list) and len(p) == 2]}
    for extra in ("ret", "exc"):
        if extra in msg:
            step[extra] = _text(msg[extra], config.value_chars + 20)
    return step


def read_trace(data: bytes, key: str, count: int, config: Config) -> dict:
    """The channel's messages as bounded, escaped data; anything without the key or malformed is dropped."""
    calls = [{"steps": [], "omitted": 0, "stopped_after": None, "outcome": None, "total_steps": None}
             for _ in range(count)]
    limit = config.head_steps + config.tail_steps
    import_error = None
    for raw in data.splitlines():
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError):  # the candidate shares the runner's process: deep nesting is its to write
            continue
        if not isinstance(msg, dict) or msg.get("k") != key:
            continue
        if msg.get("e") == "import_error":
            import_error = _text(msg.get("error"), 300)
            continue
        index = msg.get("i")
        if type(index) is not int or not 0 <= index < count:
            continue
        trace, event = calls[index], msg.get("e")
        if event == "step" and len(trace["steps"]) < limit:
            trace["steps"].append(_step(msg, config))
        elif event == "gap" and type(msg.get("omitted")) is int:
            trace["omitted"] = msg["omitted"]
        elif event == "stopped" and type(msg.get("after")) is int:
            trace["stopped_after"] = msg["after"]
        elif event in ("returned", "raised") and trace["outcome"] is None:
            trace["outcome"] = {"returned": _text(msg.get("value"), config.value_chars + 20)} if event == "returned" \
                else {"raised": _text(msg.get("error"), 300)}
            trace["total_steps"] = msg.get("steps") if type(msg.get("steps")) is int else None
    return {"calls": calls, "import_error": import_error}


def render(traces: dict, lines: list[str], config: Config, status: str) -> str:
    """The trace as the agents read it: one line per step, at most ``summary_chars`` characters."""
    if traces["import_error"]:
        return f"Trace: the candidate could not be imported: {traces['import_error']}"
    out: list[str] = []
    for trace in traces["calls"]:
        out.append(f"Trace of {trace['call']} (from {escape(trace['source'])}); each line shows the variables it "
                   "changed, after it ran:")
        for number, step in enumerate(trace["steps"], start=1):
            out.append(_step_line(step, lines))
            if number == config.head_steps and trace["omitted"]:  # the head was sent first, then the tail
                out.append(f"  … {trace['omitted']} steps not shown …")
        if trace["stopped_after"] is not None:
            out.append(f"  (tracing stopped after {trace['stopped_after']} steps; the call ran on untraced)")
        outcome = trace["outcome"]
        if outcome is None:
            out.append(f"  → the call did not finish ({status})")
        elif "returned" in outcome:
            out.append(f"  → returned {outcome['returned']}")
        else:
            out.append(f"  → raised {outcome['raised']}")
    text, budget = "", config.summary_chars
    for line in out:
        if len(text) + len(line) + 1 > budget - 40:
            return text + "  … (trace cut to fit)"
        text += line + "\n"
    return text.rstrip("\n")


def _step_line(step: dict, lines: list[str]) -> str:
    number = step["line"]
    source = escape(lines[number - 1].strip()[:60]) if 0 < number <= len(lines) else ""
    changed = ", ".join(f"{name}={value}" for name, value in step["vars"])
    extra = f" returns {step['ret']}" if "ret" in step else f" raises {step['exc']}" if "exc" in step else ""
    indent = "  " * min(step["depth"], 6)
    return f"{indent}{step['fn']} L{number}: {source}" + (f"  | {changed}" if changed else "") + extra
