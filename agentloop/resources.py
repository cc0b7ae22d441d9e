"""Where the packaged prompts/ and tools/ folders are.

In a wheel they are package data under ``agentloop/_data``; in a source checkout (editable
install, tests) they are the top-level ``prompts/`` and ``tools/`` next to ``agentloop/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


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
