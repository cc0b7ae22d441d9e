"""The system C compiler, for ``language: c``: building in a workspace and reading diagnostics."""

from __future__ import annotations

import re
import shutil

from .feedback import trim
from .sandbox import ExecResult, Workspace

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-O0"]
_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning|note|fatal error): (?P<message>.*)$",
                   re.MULTILINE)


def compiler() -> str:
    """The C compiler to use: ``cc``, else ``gcc``, else ``clang``."""
    for name in ("cc", "gcc", "clang"):
        if found := shutil.which(name):
            return found
    raise FileNotFoundError("no C compiler (cc, gcc or clang) on PATH")


def parse_diagnostics(stderr: str) -> list[dict]:
    """Compiler output as ``[{file, line, column, severity, message}]``."""
    return [{"file": m["file"], "line": int(m["line"]), "column": int(m["column"]),
             "severity": m["severity"], "message": m["message"].strip()} for m in _DIAG.finditer(stderr)]


def listing(stderr: str) -> str:
    """The compiler's complaints for a prompt: parsed diagnostics, else the raw (bounded) stderr."""
    return format_diagnostics(parse_diagnostics(stderr)) or trim(stderr, 1500)


def format_diagnostics(diags: list[dict], limit: int = 20) -> str:
    """One line per diagnostic, the way a compiler prints them."""
    lines = [f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}" for d in diags[:limit]]
    if len(diags) > limit:
        lines.append(f"… {len(diags) - limit} more")
    return "\n".join(lines)


async def build(ws: Workspace, sources: list[str], output: str | None, *, timeout_s: float,
                memory_mb: int) -> ExecResult:
    """Compile ``sources`` in the workspace (``output=None`` checks syntax only)."""
    argv = [compiler(), *CFLAGS, "-fsyntax-only", *sources] if output is None else \
        [compiler(), *CFLAGS, "-o", output, *sources, "-lm"]
    # the compiler is trusted but the source is not (#include "/dev/zero"): same limits apply
    return await ws.run(argv, timeout_s=timeout_s, memory_mb=max(memory_mb, 256))
