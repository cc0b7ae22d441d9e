"""Getting a candidate out of a model's reply: code from fenced blocks, or nothing.

Unparseable output is not an exception: ``extract_code`` returns ``None`` and the orchestrator
turns that into a failing ``parse`` feedback the next turn can read.
"""

from __future__ import annotations

import ast
import re

MAX_CODE_CHARS = 100_000  # a candidate is a function or a program, not a data dump
CALL_CHARS = 1000  # a literal call (literal_call): an input, not a data dump

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_TAGS = {"python": {"python", "py", "python3", ""}, "c": {"c", "h", ""}}


_OPENER = re.compile(r"^[ \t]*```[^\n]*\n", re.MULTILINE)
_CLOSER = re.compile(r"^[ \t]*```", re.MULTILINE)
# what a remote API can stop on: a fence line of its own (an opening fence carries its tag, ```python)
FENCE_STOP = "\n```\n"


def first_block_closed(text: str) -> bool:
    """True once ``text`` holds a complete fenced block: an opening fence line, then a closing one.

    Generation of a code reply stops here: what a model writes after its code block is never read.
    """
    opener = _OPENER.search(text)
    return opener is not None and _CLOSER.search(text, opener.end()) is not None


def close_fence(text: str) -> str:
    """``text`` with its closing fence restored when a stop sequence cut it off (APIs drop the stop)."""
    opener = _OPENER.search(text)
    if opener is None or _CLOSER.search(text, opener.end()) is not None:
        return text
    return text.rstrip("\n") + "\n```"


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag, body); an unclosed last fence runs to the end."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def extract_code(text: str, language: str = "python", entry_point: str | None = None) -> str | None:
    """The candidate code in ``text``, or ``None`` if there is none.

    Among fenced blocks tagged for ``language`` (or untagged), the one that defines
    ``entry_point`` wins, else the longest. With no fence at all, a reply that parses as Python
    on its own is taken whole.
    """
    blocks = [body for tag, body in fenced_blocks(text) if tag in _TAGS.get(language, {""}) and body.strip()]
    if blocks:
        defining = [b for b in blocks if entry_point and _defines(b, language, entry_point)]
        code = max(defining or blocks, key=len)
        return _bounded(code)
    if language == "python" and "```" not in text and _parses(text) and ("def " in text or "print" in text):
        return _bounded(text)
    return None


def _defines(code: str, language: str, name: str) -> bool:
    if language == "python":
        return re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    return re.search(rf"\b{re.escape(name)}\s*\([^;]*\)\s*\{{", code) is not None


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _bounded(code: str) -> str:
    code = code.strip("\n")
    return code[:MAX_CODE_CHARS] + "\n"


def literal_call(text: str) -> str | None:
    """``text`` as a canonical call of a named function on literals only, or None if it is not one."""
    if len(text) > CALL_CHARS:
        return None
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return None
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return None
        for value in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(value)
        return ast.unparse(node)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
