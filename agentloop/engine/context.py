"""``RunContext``: what a strategy may use of the run it drives, and nothing else.

A strategy (``strategies/*.py``, or a plugin: docs/plugins.md) is ``async def run(run:
RunContext, params) -> str``. It asks for role turns and decides what to expand next; it never
touches a model, a sandbox or the store. ``orchestrator.Run`` is the one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..checks import Feedback

if TYPE_CHECKING:
    from ..checks import Cascade
    from ..store.graph import Turn, TurnGraph
    from ..task import FeedbackSpec, Task
    from .events import Event

# a strategy's reading of a code reply: (candidate, rejection), the rejection standing in for the checks
Adopter = Callable[[str], tuple[str | None, Feedback | None]]


class RunContext(Protocol):
    """The strategy API: the task, the turns so far, and the calls that add turns."""

    task: Task  # the validated task
    graph: TurnGraph  # the turns so far: best(), candidates(), turns(), children(id)
    models: dict[str, str]  # model URI per role ("default" for the rest)
    seed: int | None  # the run's seed, None when unseeded
    refused: str | None  # why the budget last refused a turn; a strategy that catches BudgetExhausted sets it

    async def turn(self, role: str, *, parents: list[Turn], temperature: float | None = None,
                   stop_below: float | None = None, template: str | None = None, reject_repeats: bool = False,
                   advisory_tests: str | None = None, model: str | None = None, adopt: Adopter | None = None,
                   cascade: Cascade | None = None, context: dict[str, Any] | None = None) -> Turn:
        """One turn of ``role`` whose prompt shows ``parents``, stored; ``BudgetExhausted`` once the budget is spent."""
        ...

    async def maybe_turn(self, role: str, *, parents: list[Turn], temperature: float | None = None) -> Turn | None:
        """``turn``, or None when the budget refuses it (the reason in ``refused``)."""
        ...

    async def sample(self, role: str, count: int, *, parents: list[Turn] | None = None,
                     temperature: float | None = None) -> list[Turn]:
        """``count`` turns of ``role`` at once, concurrently; those the budget refused are left out."""
        ...

    def note(self, role: str, *, parents: list[Turn], output: str, details: dict[str, Any]) -> Turn:
        """Record a step the strategy computed itself (no model call) as a stored turn."""
        ...

    def choose(self, turn: Turn) -> None:
        """Submit ``turn`` instead of the graph's best, only among candidates the task's checks rank equal."""
        ...

    async def run_tests(self, code: str, tests: str | FeedbackSpec) -> Feedback:
        """Run pytest ``tests`` (or one check spec) against ``code`` in the sandbox."""
        ...

    def emit(self, event: Event | str, **fields: Any) -> None:
        """Send a progress event (a record, or its name and fields) to the run's event sink."""
        ...
