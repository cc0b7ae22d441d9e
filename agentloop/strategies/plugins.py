"""Strategy plugins: a strategy that is not built in, found by name in a folder or through an entry point.

A plugin is a module like the built-in ones: ``Params`` (a pydantic model of its parameters) and
``async def run(run, params) -> str`` (optionally ``check_task(params, task)``). ``find`` looks a
name up in this order:

1. ``strategies/NAME.py`` in the task file's folder, then in the working directory (as ``tools/``
   is searched for feedback kinds: a folder next to the task overrides everything else);
2. the built-in strategies;
3. an entry point NAME in the group ``agentloop.strategies`` of any installed distribution
   (``[project.entry-points."agentloop.strategies"] NAME = "package.module"``), which adds names
   but never replaces a built-in one.

Every failure (no such name, a file that does not import, a module without ``Params`` or ``run``)
is a ``LookupError`` with one line of text, which task and sweep validation turn into
``FILE: field: message`` with exit code 2.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from ..core.resources import load_module_file

GROUP = "agentloop.strategies"
FOLDER = "strategies"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a module name: never a path out of the folder


def folders(task_dir: Path | None) -> list[Path]:
    """The folders searched for ``NAME.py``: the task's ``strategies/``, then ``./strategies``."""
    out: list[Path] = []
    for base in (task_dir, Path.cwd()):
        folder = base / FOLDER if base is not None else None
        if folder is not None and folder.is_dir() and folder.resolve() not in [f.resolve() for f in out]:
            out.append(folder)
    return out


def from_folder(name: str, task_dir: Path | None) -> ModuleType | None:
    """The plugin ``strategies/NAME.py`` next to the task or in the working directory, if there is one."""
    if not _NAME.fullmatch(name):
        return None
    for folder in folders(task_dir):
        path = folder / f"{name}.py"
        if path.is_file():
            return _load_file(str(path.resolve()), path.stat().st_mtime_ns)
    return None


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    # read once per process: scanning every installed distribution takes ~30 ms, and a sweep looks
    # its strategy up for every run it plans and starts
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def from_entry_point(name: str) -> ModuleType | None:
    """The plugin an installed distribution registers as entry point ``name`` of ``agentloop.strategies``."""
    point = _entry_points().get(name)
    if point is None:
        return None
    try:
        module = point.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is bad input, reported in one line, not a traceback
        raise LookupError(f"strategy plugin '{name}' (entry point {point.value}) failed to import: "
                          f"{type(exc).__name__}: {exc}") from None
    return checked(module, f"entry point {point.value}")


def entry_point_names() -> list[str]:
    """The names installed distributions register in the ``agentloop.strategies`` group."""
    return sorted(_entry_points())


def checked(module: ModuleType, where: str) -> ModuleType:
    """``module`` if it has what a strategy needs (``Params``, an async ``run``); ``LookupError`` if not."""
    params = getattr(module, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise LookupError(f"strategy plugin {where} does not define Params (a pydantic BaseModel)")
    if not inspect.iscoroutinefunction(getattr(module, "run", None)):
        raise LookupError(f"strategy plugin {where} does not define run (async def run(run, params))")
    return module


def _load_file(path: str, mtime_ns: int) -> ModuleType:
    try:
        module = load_module_file(path, mtime_ns, "agentloop_strategy")
    except Exception as exc:  # noqa: BLE001 - a broken plugin is bad input, reported in one line, not a traceback
        raise LookupError(f"strategy plugin {path} failed to import: {type(exc).__name__}: {exc}") from None
    return checked(module, path)
