"""Replay on resume: the turns a run already stored, handed back in order instead of recomputed.

A resumed run starts its strategy afresh; each turn it asks for whose sequence number the store
already holds is handed back as stored, so a resumed run never repeats or loses a finished turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RunError

if TYPE_CHECKING:
    from ..models import ModelPool
    from ..store.graph import Turn


class Replay:
    """The stored turns of run ``run_id`` not yet handed back, by sequence number."""

    def __init__(self, run_id: str, stored: list[Turn]) -> None:
        self.run_id = run_id
        self._turns = {t.seq: t for t in stored}

    def __contains__(self, seq: int) -> bool:
        return seq in self._turns

    def take(self, seq: int, role: str, pool: ModelPool, judge_uri: Callable[[], str]) -> Turn:
        """Hand back stored turn ``seq``, which the strategy now asks for as a ``role`` turn.

        ``RunError`` if it was stored as another role's turn (the task or the strategy changed).
        A scripted model skips the replies the stored turn used: its own, and its checks' judge
        calls (``judge_uri``), so the turns after it get the replies they got the first time.
        """
        stored = self._turns.pop(seq)
        if stored.role != role:
            raise RunError(f"run {self.run_id} cannot be resumed: stored turn {stored.id} is a {stored.role} turn,"
                           f" the strategy now asks for {role} (did the task or strategy change?)")
        calls = [(stored.model, role)] if not stored.model.startswith("agentloop:") else []
        calls += [(judge_uri(), "judge")] * sum(f.details.get("model_calls", 0) for f in stored.feedback)
        for uri, used_by in calls:
            model = pool.get(uri)
            if hasattr(model, "replayed"):
                model.replayed(used_by)
        return stored
