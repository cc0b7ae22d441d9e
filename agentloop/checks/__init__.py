"""Checks: running a task's feedback on a candidate, and the API a feedback kind is written against.

A feedback kind (``tools/<kind>.py``: docs/plugins.md) imports what it needs from here::

    from agentloop.checks import CheckContext, Feedback, trim

``agentloop.feedback``, the older name, re-exports the same objects, so tools written against it
keep working. Modules: ``record`` (the verdict, the context, how verdicts add up), ``kinds``
(finding and loading ``tools/<kind>.py``), ``runner`` (``run_checks``, ``Cascade``), ``scan``
(the static tamper scan) and ``hidden`` (the hidden-test verdict; not re-exported here, because
it builds a task's ``FeedbackSpec`` and this package must not import the task model, which
imports it to validate a task's feedback kinds).
"""

from __future__ import annotations

from .kinds import load_kind
from .record import (
    STOPPED,
    SUMMARY_LIMIT,
    Asker,
    CheckContext,
    Feedback,
    all_passed,
    combined_score,
    stopped_early,
    trim,
)
from .runner import Cascade, run_checks, scan_for, with_preamble

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
