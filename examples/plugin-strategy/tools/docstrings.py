"""Feedback kind `docstrings` (a plugin, found in tools/ next to the task): every public function is documented.

The candidate is parsed, never run: the sandbox reads solution.py with ``ast`` and prints the
public functions that lack a docstring of at least ``min_words`` words as JSON. Parsing runs in
the sandbox too, because even parsing untrusted source can exhaust memory or recursion.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from agentloop.checks import CheckContext, Feedback
from agentloop.sandbox import python_argv

_FIND = r"""
import ast, json
words = MIN_WORDS
tree = ast.parse(open("solution.py", encoding="utf-8").read())
bare = [f"{node.name} (line {node.lineno})" for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_")
        and len((ast.get_docstring(node) or "").split()) < words]
print(json.dumps(bare))
"""


class Config(BaseModel):
    """`docstrings`: ``min_words``, the fewest words a docstring may have."""

    model_config = ConfigDict(extra="forbid")  # a typo in the task file is an error with its line

    min_words: int = Field(default=3, ge=1, le=200)


async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
    """Pass (score 1) when every public function has a docstring of ``min_words`` words or more."""
    async with ctx.sandbox.workspace({"solution.py": code}) as ws:
        script = _FIND.replace("MIN_WORDS", str(config.min_words))
        result = await ws.run(python_argv("-c", script), timeout_s=ctx.task.sandbox.timeout_s,
                              memory_mb=ctx.task.sandbox.memory_mb)
    try:
        bare = json.loads(result.stdout.strip().splitlines()[-1]) if result.ok else None
    except (ValueError, IndexError):
        bare = None
    if not isinstance(bare, list):  # does not parse, or the parser was killed: the compile check says why
        return Feedback(kind="docstrings", passed=False, score=0.0,
                        summary=f"The code could not be read for docstrings (status {result.status}).")
    if not bare:
        return Feedback(kind="docstrings", passed=True, score=1.0, summary="Every public function has a docstring.")
    names = ", ".join(str(b)[:100] for b in bare[:20])
    return Feedback(kind="docstrings", passed=False, score=0.0, details={"undocumented": bare[:100]},
                    summary=f"Public functions without a docstring of {config.min_words}+ words: {names}.")
