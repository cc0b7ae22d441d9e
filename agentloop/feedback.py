"""The older name of ``agentloop.checks``, the API feedback kinds are written against.

Tools written as ``from agentloop.feedback import CheckContext, Feedback, trim`` keep working:
every name here is the same object as in ``agentloop.checks``. New code imports from there.
"""

from __future__ import annotations

from .checks import (
    STOPPED,
    SUMMARY_LIMIT,
    Asker,
    Cascade,
    CheckContext,
    Feedback,
    all_passed,
    combined_score,
    load_kind,
    run_checks,
    scan_for,
    stopped_early,
    trim,
    with_preamble,
)

__all__ = [
    "STOPPED",
    "SUMMARY_LIMIT",
    "Asker",
    "Cascade",
    "CheckContext",
    "Feedback",
    "all_passed",
    "combined_score",
    "load_kind",
    "run_checks",
    "scan_for",
    "stopped_early",
    "trim",
    "with_preamble",
]
