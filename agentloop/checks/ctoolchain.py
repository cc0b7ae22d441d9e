"""The system C compiler, for ``language: c``: building in a workspace and reading diagnostics.

Diagnostics come from the compiler as data where it offers them: GCC 9-14 print a JSON array
with ``-fdiagnostics-format=json``. A compiler without it (clang, a future GCC) is read from its
``file:line:column: severity: message`` text, the format every C compiler shares. Which one is
used is probed once per compiler, on an empty file.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess

from ..sandbox import ExecResult, Workspace
from . import trim

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-O0"]
JSON_FLAG = "-fdiagnostics-format=json"
_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning|note|fatal error): (?P<message>.*)$",
                   re.MULTILINE)


def compiler() -> str:
    """The C compiler to use: ``cc``, else ``gcc``, else ``clang``."""
    for name in ("cc", "gcc", "clang"):
        if found := shutil.which(name):
            return found
    raise FileNotFoundError("no C compiler (cc, gcc or clang) on PATH")


@functools.lru_cache(maxsize=4)
def speaks_json(cc: str) -> bool:
    """Whether ``cc`` reports diagnostics as a JSON array (GCC 9-14); probed on an empty file."""
    try:
        probe = subprocess.run([cc, JSON_FLAG, "-fsyntax-only", "-x", "c", "-"], input=b"", capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and probe.stderr.strip() in (b"", b"[]")


def parse_diagnostics(stderr: str) -> list[dict]:
    """Compiler output as ``[{file, line, column, severity, message}]``: the JSON report if there is one, else the text."""
    report, rest = _split_json(stderr)
    if report is None:
        return _from_text(stderr)
    return [d for entry in report if isinstance(entry, dict) for d in _from_json(entry)] + _from_text(rest)


def _split_json(stderr: str) -> tuple[list | None, str]:
    """GCC's JSON array (printed at the end of compilation) and any text around it (the linker's)."""
    start = stderr.find("[{")
    if start < 0:
        start = stderr.find("[]")
    if start < 0:
        return None, stderr
    try:
        report, end = json.JSONDecoder().raw_decode(stderr, start)
    except ValueError:  # cut short (an output limit): read it as text
        return None, stderr
    return (report if isinstance(report, list) else None), stderr[:start] + stderr[end:]


def _from_json(entry: dict, severity: str | None = None) -> list[dict]:
    caret = next((loc.get("caret") for loc in entry.get("locations") or [] if isinstance(loc, dict)), None) or {}
    kind = severity or str(entry.get("kind", "error"))
    out = [{"file": str(caret.get("file", "")), "line": int(caret.get("line") or 0), "column": int(caret.get("column") or 0),
            "severity": kind, "message": str(entry.get("message", "")).strip()}]
    for child in entry.get("children") or []:
        if isinstance(child, dict):
            out += _from_json(child)
    return out


def _from_text(stderr: str) -> list[dict]:
    return [{"file": m["file"], "line": int(m["line"]), "column": int(m["column"]),
             "severity": m["severity"], "message": m["message"].strip()} for m in _DIAG.finditer(stderr)]


def listing(stderr: str) -> str:
    """The compiler's complaints for a prompt: parsed diagnostics (plus any linker text), else the raw (bounded) stderr."""
    report, rest = _split_json(stderr)
    shown = format_diagnostics(parse_diagnostics(stderr))
    if report is not None and rest.strip() and not _from_text(rest):
        shown = "\n".join(filter(None, [shown, trim(rest.strip(), 1000)]))
    return shown or trim(stderr, 1500)


def format_diagnostics(diags: list[dict], limit: int = 20) -> str:
    """One line per diagnostic, the way a compiler prints them."""
    lines = [f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}" for d in diags[:limit]]
    if len(diags) > limit:
        lines.append(f"… {len(diags) - limit} more")
    return "\n".join(lines)


async def build(ws: Workspace, sources: list[str], output: str | None, *, timeout_s: float,
                memory_mb: int) -> ExecResult:
    """Compile ``sources`` in the workspace (``output=None`` checks syntax only)."""
    cc = compiler()
    flags = [*CFLAGS, JSON_FLAG] if speaks_json(cc) else CFLAGS
    argv = [cc, *flags, "-fsyntax-only", *sources] if output is None else [cc, *flags, "-o", output, *sources, "-lm"]
    # the compiler is trusted but the source is not (#include "/dev/zero"): same limits apply
    return await ws.run(argv, timeout_s=timeout_s, memory_mb=max(memory_mb, 256))
