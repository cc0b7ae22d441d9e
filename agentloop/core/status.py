"""A run's status: the one list of values the store holds, ``--json`` prints and SPEC §2 names.

A ``StrEnum``: each member *is* its string (``RunStatus.SOLVED == "solved"``), so stored rows,
JSON output and comparisons with plain strings read exactly as the strings themselves.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run stands: ``running`` until it ends ``solved``, ``unsolved``, ``error`` or ``interrupted``."""

    RUNNING = "running"
    SOLVED = "solved"  # every check passed (and the hidden tests, where the task has them)
    UNSOLVED = "unsolved"  # the strategy ended (or the budget did) without a passing candidate
    ERROR = "error"  # the run failed; it stays resumable
    INTERRUPTED = "interrupted"  # stopped by a signal or a cancelled caller; resumable

    @property
    def finished(self) -> bool:
        """True for a run that reached its end (solved or unsolved): resuming it only returns its result."""
        return self in (RunStatus.SOLVED, RunStatus.UNSOLVED)

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for a run that ended so: 0 solved, 1 unsolved, 3 error or interrupted."""
        return {RunStatus.SOLVED: 0, RunStatus.UNSOLVED: 1}.get(self, 3)
