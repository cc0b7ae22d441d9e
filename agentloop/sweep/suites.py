"""Suites: the tasks a sweep runs over.

A suite is a folder of task files (``*/task.yaml`` or ``*.yaml``, sorted by path), a JSONL file
with one task object per line, or a built-in loader by name (``humaneval``). Every task is
validated exactly as ``agentloop run`` would validate it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.yamlfile import MAX_BYTES, load_yaml_file
from ..errors import TaskFileError
from ..task import Task
from .humaneval import humaneval_tasks
from .suitetask import SuiteTask

MAX_JSONL_BYTES = 64 * MAX_BYTES  # a suite is many tasks, still not a data lake


def builtin_suites() -> dict[str, Any]:
    """Built-in loaders by name: each returns the suite's tasks in order."""
    return {"humaneval": humaneval_tasks}


def load_suite(suite: str, base: Path, *, sweep_path: str) -> list[SuiteTask]:
    """The tasks of ``suite`` (a built-in name, or a folder or JSONL path relative to ``base``)."""
    loaders = builtin_suites()
    if suite in loaders:
        tasks = loaders[suite]()
    else:
        path = Path(suite) if Path(suite).is_absolute() else base / suite
        if path.is_dir():
            tasks = _folder(path)
        elif path.is_file() and path.suffix == ".jsonl":
            tasks = _jsonl(path)
        else:
            raise TaskFileError(sweep_path, "suite", f"'{suite}' is not a built-in suite ({', '.join(loaders)}), "
                                                     "a folder of task files or a .jsonl file")
    if not tasks:
        raise TaskFileError(sweep_path, "suite", f"suite '{suite}' holds no tasks")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise TaskFileError(sweep_path, "suite", f"task name '{dup}' appears twice in the suite")
    return tasks


def _folder(path: Path) -> list[SuiteTask]:
    files = sorted(path.glob("*/task.yaml")) or sorted(p for p in path.glob("*.yaml") if p.is_file())
    out = []
    for file in files:
        task = Task.from_yaml(file)  # validates; errors name the task file
        out.append(SuiteTask(name=task.name, data=load_yaml_file(file).data, base_dir=file.resolve().parent,
                             label=str(file)))
    return out


def _jsonl(path: Path) -> list[SuiteTask]:
    if path.stat().st_size > MAX_JSONL_BYTES:
        raise TaskFileError(str(path), "", f"file is larger than {MAX_JSONL_BYTES} bytes")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        label = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskFileError(label, "", f"invalid JSON: {exc.msg}") from None
        task = Task.from_dict(data, base_dir=path.resolve().parent, label=label)
        out.append(SuiteTask(name=task.name, data=data, base_dir=path.resolve().parent, label=label))
    return out


def select(tasks: list[SuiteTask], *, names: list[str] | None, limit: int | None, sweep_path: str) -> list[SuiteTask]:
    """The named tasks (all when None), then the first ``limit`` of them."""
    if names is not None:
        known = {t.name for t in tasks}
        missing = [n for n in names if n not in known]
        if missing:
            raise TaskFileError(sweep_path, "tasks", f"no task '{missing[0]}' in the suite")
        tasks = [t for t in tasks if t.name in set(names)]
    return tasks[:limit] if limit is not None else tasks
