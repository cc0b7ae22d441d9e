"""Ties among equally good candidates, broken by the model's own token confidence (``tie_break``).

``best_of_n`` and ``tree`` submit the best candidate by the task's visible checks; among the
candidates that are exactly as good (the same pass/fail, the same score — with no checks at all,
every candidate), ``tie_break`` picks the one the model was most confident in: the highest
``mean_logprob``, ``lowest_group`` (DeepConf) or ``self_certainty`` (agentloop/core/confidence.py).
Self-certainty as a best-of-N selector without a reward model is Kang et al. 2025 (arXiv
2502.18581); DeepConf (Fu et al. 2025) weighs and filters samples by their lowest group
confidence. The checks always come first: ``RunContext.choose`` refuses a pick that is worse on them.
``latest`` (the default) keeps the graph's own rule, the latest of the best. ``disagreement``
breaks the tie by running the tied programs on model-written inputs instead (S*, disagreement.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .disagreement import select

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..store.graph import Turn

TieBreak = Literal["latest", "mean_logprob", "lowest_group", "self_certainty", "disagreement"]


def most_confident(candidates: list[Turn], measure: str) -> Turn | None:
    """The candidate with the highest ``measure``; None if no candidate has it."""
    scored = [(getattr(t.confidence, measure), t.seq, t) for t in candidates
              if t.confidence is not None and getattr(t.confidence, measure) is not None]
    return max(scored, key=lambda x: (x[0], x[1]))[2] if scored else None


async def break_ties(run: RunContext, tie_break: TieBreak) -> None:
    """Submit the most confident of the candidates that tie with the best on the checks (or, with
    ``disagreement``, the majority's pick on model-written inputs)."""
    if tie_break == "disagreement":
        await select(run)
        return
    if tie_break == "latest":
        return
    pick = most_confident(run.graph.tied(), tie_break)
    if pick is not None:
        run.choose(pick)
