"""Feedback kind `compile`: Python byte-compilation, or the C compiler's syntax check with warnings.

Diagnostics carry file, line, column and message so the refiner can find the spot.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from agentloop.checks import CheckContext, Feedback, trim
from agentloop.checks.ctoolchain import build, listing, parse_diagnostics
from agentloop.sandbox import python_argv

# compiled in the sandbox, not here: even compiling untrusted source can exhaust memory
_PY_CHECK = """
import json, sys
src = open('solution.py', encoding='utf-8').read()
try:
    compile(src, 'solution.py', 'exec')
except (SyntaxError, ValueError) as e:
    print(json.dumps({'file': 'solution.py', 'line': getattr(e, 'lineno', None), 'column': getattr(e, 'offset', None),
                      'severity': 'error', 'message': getattr(e, 'msg', str(e)), 'text': (getattr(e, 'text', '') or '')[:300]}))
    sys.exit(1)
"""


class Config(BaseModel):
    """`compile` takes no options."""

    model_config = ConfigDict(extra="forbid")


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Compile the candidate; pass when it compiles (C warnings are reported but do not fail)."""
    limits = {"timeout_s": ctx.task.sandbox.timeout_s, "memory_mb": ctx.task.sandbox.memory_mb}
    if ctx.task.language == "c":
        async with ctx.sandbox.workspace({"solution.c": code}) as ws:
            result = await build(ws, ["solution.c"], None, **limits)
        diags = parse_diagnostics(result.stderr)
        shown = listing(result.stderr)
        if result.ok:
            warnings = [d for d in diags if d["severity"] == "warning"]
            summary = "Compiles." + (f" {len(warnings)} warning(s):\n{shown}" if warnings else "")
            return Feedback(kind="compile", passed=True, score=1.0, summary=summary, details={"diagnostics": diags})
        return Feedback(kind="compile", passed=False, score=0.0, summary=f"Does not compile:\n{shown}",
                        details={"diagnostics": diags, "status": result.status})
    async with ctx.sandbox.workspace({"solution.py": code}) as ws:
        result = await ws.run(python_argv("-c", _PY_CHECK), **limits)
    if result.ok:
        return Feedback(kind="compile", passed=True, score=1.0, summary="Compiles.")
    try:
        diag = json.loads(result.stdout.strip().splitlines()[-1])
        where = f"solution.py:{diag['line']}:{diag['column']}: error: {diag['message']}"
        summary = f"Does not compile:\n{where}\n    {diag['text'].rstrip()}"
        diags = [diag]
    except (ValueError, IndexError, KeyError, TypeError):
        diags, summary = [], f"Compilation check failed ({result.status}):\n{trim(result.stderr, 1000)}"
    return Feedback(kind="compile", passed=False, score=0.0, summary=summary,
                    details={"diagnostics": diags, "status": result.status})
