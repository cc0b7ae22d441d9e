"""The loading of feedback kinds.

A feedback kind is one file ``tools/<kind>.py`` defining ``Config`` (a pydantic model of the
kind's options, unknown keys forbidden) and ``async def check(code, config, ctx) -> Feedback``.
Kinds are looked up in the task folder's ``tools/``, then ``./tools``, then the packaged ones.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..core.resources import load_module_file, search_path


def load_kind(name: str, task_dir: Path | None) -> ModuleType:
    """Load the feedback kind ``name``; ``LookupError`` if no folder has it."""
    for folder in search_path("tools", task_dir):
        path = folder / f"{name}.py"
        if path.is_file():
            return _load_module(str(path.resolve()), path.stat().st_mtime_ns)
    raise LookupError(f"unknown feedback kind '{name}'")


def _load_module(path: str, mtime_ns: int) -> ModuleType:
    module = load_module_file(path, mtime_ns, "agentloop_tool")
    for required in ("Config", "check"):
        if not hasattr(module, required):
            raise LookupError(f"feedback kind {path} does not define {required}")
    return module
