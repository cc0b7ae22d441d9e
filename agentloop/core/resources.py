"""Where the packaged prompts/ and tools/ folders are.

In a wheel they are package data under ``agentloop/_data``; in a source checkout (editable
install, tests) they are the top-level ``prompts/`` and ``tools/`` next to ``agentloop/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

_PACKAGE = Path(__file__).resolve().parent.parent  # agentloop/, this file being in agentloop/core/


def packaged_dir(name: str) -> Path:
    """The packaged ``prompts`` or ``tools`` folder."""
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def search_path(name: str, task_dir: Path | None) -> list[Path]:
    """Folders searched for ``name`` (prompts or tools): task folder, then ./name, then packaged."""
    dirs = []
    if task_dir is not None:
        dirs.append(task_dir / name)
    dirs.append(Path.cwd() / name)
    dirs.append(packaged_dir(name))
    seen, out = set(), []
    for d in dirs:
        key = str(d.resolve()) if d.exists() else str(d)
        if key not in seen and d.is_dir():
            seen.add(key)
            out.append(d)
    return out


@lru_cache(maxsize=128)
def load_module_file(path: str, mtime_ns: int, prefix: str) -> ModuleType:
    """Import the Python file ``path`` (a tool or a strategy plugin) as a module of its own.

    Keyed by path and mtime: a file edited between runs is reloaded, one used twice is not. An
    error raised by the file's code propagates; ``LookupError`` if it cannot be loaded at all.
    """
    digest = hashlib.sha1(f"{path}:{mtime_ns}".encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(f"{prefix}_{Path(path).stem}_{digest}", path)
    if spec is None or spec.loader is None:
        raise LookupError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # registered before exec so pydantic can resolve the module's postponed annotations
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module
