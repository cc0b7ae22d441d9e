"""``SuiteTask``: one task of a suite, the record the suite loaders (``suites``, ``humaneval``) return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SuiteTask:
    """One task of a suite: its data (a task file's keys) and the folder it resolves paths against."""

    name: str
    data: dict[str, Any]
    base_dir: Path | None
    label: str  # where it came from, for error messages
