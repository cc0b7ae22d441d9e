"""Feedback kind `lint`: static checks for Python with line-level diagnostics (ruff).

ruff runs in the sandbox on the candidate file (the tool is trusted, the source is not); its JSON
report gives rule, line, column and message. Without ruff installed, the kind falls back to the
compiler's own warnings (SyntaxWarning and friends), still with line numbers.
"""

from __future__ import annotations

import importlib.util
import json

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback, trim
from agentloop.sandbox import python_argv

_WARNINGS = """
import json, warnings
src = open('solution.py', encoding='utf-8').read()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    try:
        compile(src, 'solution.py', 'exec')
    except SyntaxError as e:
        caught.append(type('W', (), {'lineno': e.lineno, 'message': e.msg, 'category': SyntaxError})())
print(json.dumps([{'code': w.category.__name__, 'row': w.lineno, 'column': 0, 'message': str(w.message)} for w in caught]))
"""


class Config(BaseModel):
    """`select`: ruff rule prefixes (default: real errors, not style); `max_issues` listed in the summary."""

    model_config = ConfigDict(extra="forbid")

    select: list[str] = Field(default_factory=lambda: ["E9", "F", "B"])
    max_issues: int = Field(default=20, ge=1, le=200)


def _ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin
    return str(find_ruff_bin())


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Pass when there is nothing to report; the score falls by 0.1 per issue."""
    if ctx.task.language != "python":
        return Feedback(kind="lint", passed=False, score=0.0, summary="lint needs language: python")
    use_ruff = importlib.util.find_spec("ruff") is not None
    # the ruff binary itself (found here, in the trusted process), not `python -m ruff`, which would re-exec it
    argv = [_ruff_binary(), "check", "--isolated", "--no-cache", "--output-format", "json",
            "--select", ",".join(config.select), "solution.py"] if use_ruff else python_argv("-c", _WARNINGS)
    async with ctx.sandbox.workspace({"solution.py": code}) as ws:
        result = await ws.run(argv, timeout_s=ctx.task.sandbox.timeout_s, memory_mb=max(ctx.task.sandbox.memory_mb, 256))
    try:
        # fail closed: no JSON report (the linter crashed or was killed) is never "no issues"
        if result.status not in ("ok", "exit") or not result.stdout.lstrip().startswith("["):
            raise ValueError("no report")
        raw = json.loads(result.stdout)
        issues = [{"rule": d["code"] or "syntax", "line": d.get("location", d).get("row"),
                   "column": d.get("location", d).get("column"), "message": d["message"]} for d in raw]
    except (ValueError, KeyError, TypeError, AttributeError):
        return Feedback(kind="lint", passed=False, score=0.0,
                        summary=f"the linter failed ({result.status}): {trim(result.stderr, 500)}")
    if not issues:
        return Feedback(kind="lint", passed=True, score=1.0, summary="No lint issues.", details={"tool": "ruff" if use_ruff else "compile"})
    lines = [f"solution.py:{i['line']}:{i['column']}: {i['rule']} {i['message']}" for i in issues[: config.max_issues]]
    return Feedback(kind="lint", passed=False, score=max(0.0, 1 - 0.1 * len(issues)),
                    summary=f"{len(issues)} lint issue(s):\n" + "\n".join(lines),
                    details={"issues": issues, "tool": "ruff" if use_ruff else "compile"})
