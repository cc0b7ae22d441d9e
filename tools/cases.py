"""Feedback kind `cases`: input/output cases compared in the trusted process (Python).

The sandbox only computes: it imports the candidate as ``solution``, evaluates each case's
``call`` expression and sends the result back as JSON over the report channel. The expected
values never enter the sandbox, and the comparison happens here on plain JSON values, so an
object whose ``==`` always says True cannot cross (it is not JSON) and cannot be compared.
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback
from agentloop.sandbox import python_argv

_RUNNER = r'''
import json, os, sys, traceback
key = os.read(4, 256).decode(); os.close(4)
calls = json.load(open("calls.json"))
PLAIN = (type(None), bool, int, float, str)
def plain(v, depth=0):
    # exact types only: a subclass could carry its own __eq__ or __str__
    if depth > 50: raise TypeError("nested too deep")
    if type(v) in PLAIN: return v
    if type(v) in (list, tuple): return [plain(x, depth + 1) for x in v]
    if type(v) is dict and all(type(k) is str for k in v): return {k: plain(x, depth + 1) for k, x in v.items()}
    raise TypeError(f"result of type {type(v).__name__} is not a plain JSON value")
out = []
try:
    import solution
    space = vars(solution)
except BaseException as exc:
    out = [{"error": f"importing the solution failed: {type(exc).__name__}: {exc}"}] * len(calls)
else:
    for call in calls:
        try:
            out.append({"value": plain(eval(call, dict(space)))})
        except BaseException as exc:
            out.append({"error": f"{type(exc).__name__}: {exc}"[:500]})
os.write(3, (json.dumps({"k": key, "results": out}, allow_nan=True) + "\n").encode())
'''


class Case(BaseModel):
    """One case: a Python expression calling the solution, and the JSON value it must return."""

    model_config = ConfigDict(extra="forbid")

    call: str = Field(min_length=1, max_length=10_000)
    expect: Any = None


class Config(BaseModel):
    """`cases`: the cases; `tolerance`: absolute/relative slack for floats (default exact)."""

    model_config = ConfigDict(extra="forbid")

    cases: list[Case] = Field(min_length=1, max_length=10_000)
    tolerance: float = Field(default=0.0, ge=0.0)


def same(expected: Any, got: Any, tol: float) -> bool:
    """Equality on JSON values with their types: True is not 1, "1" is not 1; floats within ``tol``."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        if isinstance(expected, float) or isinstance(got, float):
            return math.isclose(expected, got, rel_tol=tol, abs_tol=tol) or (math.isnan(expected) and math.isnan(got))
        return expected == got
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(e, g, tol) for e, g in zip(expected, got))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k], tol) for k in expected)
    return type(expected) is type(got) and expected == got


def _results(channel: bytes, key: str, n: int) -> list[dict] | None:
    found = None
    for raw in channel.splitlines():
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError):  # deep nesting is no message: nothing on the channel can be trusted
            return None
        if not isinstance(msg, dict) or msg.get("k") != key or found is not None:
            return None  # forged, or a second answer: nothing on the channel can be trusted
        found = msg.get("results")
    return found if isinstance(found, list) and len(found) == n and all(isinstance(r, dict) for r in found) else None


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Evaluate every case in the sandbox; compare here. Score: the fraction of cases right."""
    key = secrets.token_hex(16)
    calls = json.dumps([c.call for c in config.cases])
    async with ctx.sandbox.workspace({"solution.py": code, "calls.json": calls, "run_cases.py": _RUNNER}) as ws:
        result = await ws.run(python_argv("run_cases.py"), timeout_s=ctx.task.sandbox.timeout_s,
                              memory_mb=ctx.task.sandbox.memory_mb, import_workdir=True, channel=key.encode())
    got = _results(result.channel, key, len(config.cases))
    if got is None:
        tail = (result.stderr[-1500:] or result.stdout[-500:]).strip()
        return Feedback(kind="cases", passed=False, score=0.0,
                        summary=f"The cases produced no trustworthy results (status {result.status}).\n{tail}".strip(),
                        details={"status": result.status, "isolation": result.isolation})
    wrong = []
    for case, res in zip(config.cases, got):
        if "error" in res:
            wrong.append(f"{case.call}: raised {str(res['error'])[:300]}")
        elif not same(case.expect, res.get("value"), config.tolerance):
            wrong.append(f"{case.call}: expected {json.dumps(case.expect)[:200]}, got {json.dumps(res.get('value'))[:200]}")
    n = len(config.cases)
    passed = not wrong and result.ok
    summary = f"{n - len(wrong)} of {n} cases right." + "".join(f"\n{w}" for w in wrong[:20])
    if not result.ok and not wrong:
        summary += f"\nThe program ended with status {result.status} (exit {result.returncode})."
    return Feedback(kind="cases", passed=passed, score=(n - len(wrong)) / n, summary=summary,
                    details={"wrong": wrong[:100], "status": result.status, "isolation": result.isolation})
