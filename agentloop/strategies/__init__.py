"""Strategies, registered by name. A strategy is a module with ``Params`` and ``async def run(run, params)``.

A strategy never touches a model, a sandbox or the store: it asks the ``Run`` for role turns and
decides what to expand next, and returns why it stopped.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

STRATEGIES = ("refine", "best_of_n", "reflexion", "tree", "codet", "magicore", "evolve")


class TaskMismatch(ValueError):
    """A strategy parameter that disagrees with the rest of the task (raised by a strategy's ``check_task``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def get_strategy(name: str) -> ModuleType:
    """The strategy module called ``name``; ``LookupError`` if there is none."""
    if name not in STRATEGIES:
        raise LookupError(f"unknown strategy '{name}' (known: {', '.join(STRATEGIES)})")
    return import_module(f"{__name__}.{name}")
