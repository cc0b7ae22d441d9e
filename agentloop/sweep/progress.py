"""The sweep's running tally: compute spent against the overall budget, and the progress bar.

The bar (rich, on stderr) shows runs done of planned, the running pass rate on hidden tests,
tokens spent, elapsed time and an ETA. Without rich the tally still works, silently.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Self

from .measures import RunFacts
from .spec import TotalBudget


class Tally:
    """Counts finished runs and tells the executors when the overall budget is spent."""

    def __init__(self, total: int, budget: TotalBudget, *, show: bool = True) -> None:
        self.total, self.budget = total, budget
        self.facts: list[RunFacts] = []
        self.tokens = 0
        self._started = time.monotonic()
        self._bar = _make_bar(show)
        self._task_id = None

    def __enter__(self) -> Self:
        if self._bar is not None:
            self._bar.start()
            self._task_id = self._bar.add_task("sweep", total=self.total, rate="–", tokens=0)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def exhausted(self) -> str | None:
        """Why no new run may start (the overall budget), or None."""
        if self.budget.max_tokens is not None and self.tokens >= self.budget.max_tokens:
            return f"total_budget.max_tokens ({self.budget.max_tokens}) reached"
        if self.budget.max_seconds is not None and time.monotonic() - self._started >= self.budget.max_seconds:
            return f"total_budget.max_seconds ({self.budget.max_seconds:g}) reached"
        return None

    def add(self, facts: RunFacts) -> None:
        """Count one finished run."""
        self.facts.append(facts)
        self.tokens += facts.tokens
        if self._bar is not None:
            passed = sum(f.passed for f in self.facts)
            self._bar.update(self._task_id, advance=1, tokens=self.tokens,
                             rate=f"{passed}/{len(self.facts)} ({passed / len(self.facts):.0%})")


def _make_bar(show: bool):
    if not show:
        return None
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        return None
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("pass {task.fields[rate]}"), TextColumn("{task.fields[tokens]} tok"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(file=sys.stderr), transient=False)
