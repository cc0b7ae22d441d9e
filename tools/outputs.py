"""Feedback kind `outputs`: what the candidate's functions return on given calls, recorded as plain data.

Each call is ``name(literal, ..., key=literal)``: a function of the solution and Python literals
only (checked here with ``ast`` before anything runs). The calls run in the sandbox behind the
solution boundary (``agentloop.sandbox.score_runner``): the candidate runs in a process of its own
and only plain data (None, bool, int, float, complex, str, bytes, list, tuple, dict, set,
frozenset) comes back, decoded into fresh builtin values; an object with a lying ``__eq__`` or a
``__repr__`` that raises never crosses (the call's outcome is then ``not plain data``). Each
outcome is written down as text by this fixed evaluator: a canonical repr (sets and dicts in
sorted order, so equal values always read the same), ``raised <builtin exception class>``, or
why there is none; each bounded to ``output_chars``. The outcomes come back over the keyed
channel the candidate cannot write to.

The check passes when every call returned a value; ``details.not_data`` counts the outcomes that
are neither a value nor an exception (not plain data, the process died). The disagreement selector
(``agentloop/strategies/disagreement.py``, S*) groups candidates by these outcomes; a task can
also list it to show the agents what their code returns (``summary``).
"""

from __future__ import annotations

import json
import secrets

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentloop.checks import CheckContext, Feedback
from agentloop.core.parsing import literal_call
from agentloop.sandbox import python_argv
from agentloop.sandbox.score_runner import received

EVALUATOR_FILE = "agentloop_outputs.py"
NOT_DATA = ("not plain data", "the solution's process died")  # outcomes that are neither a value nor an exception

# fixed code: the only variable parts are JSON data read by json.loads (the calls) and two integers
_EVALUATOR = r'''
import ast, hashlib, json, solution
from agentloop.sandbox.boundary import NotPlainData, SolutionProcessError
CALLS, LIMIT = json.loads(%(calls)r), %(limit)d

def canon(v, depth=0):
    t = type(v)
    if depth > 30:
        return "..."
    if t is list or t is tuple:
        inner = [canon(x, depth + 1) for x in v]
        return "[" + ", ".join(inner) + "]" if t is list else "(" + ", ".join(inner) + ("," if len(v) == 1 else "") + ")"
    if t is set or t is frozenset:
        return t.__name__ + "({" + ", ".join(sorted(canon(x, depth + 1) for x in v)) + "})"
    if t is dict:
        return "{" + ", ".join(sorted(canon(k, depth + 1) + ": " + canon(x, depth + 1) for k, x in v.items())) + "}"
    return repr(v)  # a builtin scalar, made fresh by the boundary's decoding

def outcome(call):
    node = ast.parse(call, mode="eval").body
    args = [ast.literal_eval(a) for a in node.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    try:
        return canon(getattr(solution, node.func.id)(*args, **kwargs))
    except NotPlainData:
        return "not plain data"
    except SolutionProcessError:
        return "the solution's process died"
    except BaseException as exc:  # the class the boundary re-made: the first builtin one names it
        return "raised " + next(c for c in type(exc).__mro__ if c.__module__ == "builtins").__name__

out = []
for call in CALLS:
    text = outcome(call)
    # a cut outcome keeps a digest of the whole, so two long outputs that differ only past the cut never vote together
    digest = hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:16]
    out.append(text if len(text) <= LIMIT else text[:LIMIT] + " ... [%%d characters, sha256 %%s]" %% (len(text), digest))
print(json.dumps(out))
'''


class Config(BaseModel):
    """`calls`: up to 64 calls of the solution's functions on literals; `output_chars`: each outcome's bound."""

    model_config = ConfigDict(extra="forbid")

    calls: list[str] = Field(min_length=1, max_length=64)
    output_chars: int = Field(default=300, ge=20, le=4000)

    @field_validator("calls")
    @classmethod
    def _literal_calls(cls, calls: list[str]) -> list[str]:
        out = []
        for i, call in enumerate(calls):
            if (canonical := literal_call(call)) is None:
                raise ValueError(f"calls[{i}] is not a call of a function on Python literals: {call[:80]!r}")
            out.append(canonical)
        return out


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Run the calls against the candidate in the sandbox; each outcome comes back as bounded text."""
    if ctx.task.language != "python":
        return Feedback(kind="outputs", passed=False, score=0.0, summary="the outputs kind runs Python candidates only")
    key = secrets.token_hex(16)
    source = _EVALUATOR % {"calls": json.dumps(config.calls), "limit": config.output_chars}
    async with ctx.sandbox.workspace({"solution.py": code, EVALUATOR_FILE: source}) as ws:
        result = await ws.run(python_argv("-m", "agentloop.sandbox.score_runner", EVALUATOR_FILE),
                              timeout_s=ctx.task.sandbox.timeout_s, memory_mb=ctx.task.sandbox.memory_mb,
                              channel=key.encode())
    msg = received(result.channel, key)
    outputs = _outputs(msg, len(config.calls))
    base = {"status": result.status, "isolation": result.isolation}
    if outputs is None:
        why = msg.get("error") if msg and isinstance(msg.get("error"), str) else f"status {result.status}"
        return Feedback(kind="outputs", passed=False, score=0.0, details={**base, "outputs": None},
                        summary=f"The calls produced no trustworthy outputs ({why[:300]}).")
    returned = sum(not o.startswith(("raised ",) + NOT_DATA) for o in outputs)
    lines = "".join(f"\n{call} -> {out}" for call, out in zip(config.calls, outputs))
    return Feedback(kind="outputs", passed=returned == len(outputs), score=returned / len(outputs),
                    summary=f"{returned} of {len(outputs)} calls returned a value.{lines}",
                    details={**base, "calls": config.calls, "outputs": outputs,
                             "not_data": sum(o.startswith(NOT_DATA) for o in outputs)})


def _outputs(msg: dict | None, n: int) -> list[str] | None:
    """The evaluator's list of ``n`` outcome strings from the channel's report, or None."""
    if msg is None or not isinstance(msg.get("stdout"), str):
        return None
    lines = msg["stdout"].strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    ok = isinstance(data, list) and len(data) == n and all(type(o) is str for o in data)
    return data if ok else None
