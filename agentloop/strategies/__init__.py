"""Strategies, registered by name. A strategy is a module with ``Params`` and ``async def run(run, params)``.

Besides the built-in ones, a strategy can be a plugin: ``strategies/NAME.py`` next to the task, or
an ``agentloop.strategies`` entry point (``plugins.py``; docs/plugins.md).

A strategy never touches a model, a sandbox or the store: it asks its ``RunContext`` (``agentloop.engine.context``) for role turns and
decides what to expand next, and returns why it stopped.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

from . import plugins

STRATEGIES = ("refine", "best_of_n", "reflexion", "tree", "codet", "magicore", "evolve")


class TaskMismatch(ValueError):
    """A strategy parameter that disagrees with the rest of the task (raised by a strategy's ``check_task``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def get_strategy(name: str, task_dir: Path | None = None) -> ModuleType:
    """The strategy module called ``name``; ``LookupError`` (one line) if there is none.

    ``task_dir`` is the task file's folder: its ``strategies/NAME.py`` comes first, then
    ``./strategies/NAME.py``, the built-in strategies, and entry points (``plugins``).
    """
    found = plugins.from_folder(name, task_dir)
    if found is not None:
        return found
    if name in STRATEGIES:
        return import_module(f"{__name__}.{name}")
    found = plugins.from_entry_point(name)
    if found is not None:
        return found
    extra = plugins.entry_point_names()
    raise LookupError(f"unknown strategy '{name}' (known: {', '.join(STRATEGIES + tuple(extra))}; a plugin is "
                      f"strategies/{name}.py next to the task or an '{plugins.GROUP}' entry point)")
