"""Python validators of a candidate's text, for wrapped LLM calls (``refine(validators=[...])``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import Feedback


def validate(fn: Callable[[str], Any], candidate: str) -> Feedback:
    """Run a Python validator on the candidate's text (it is not executed): True/None pass,
    False fails, a string fails with that message, an exception fails with its message."""
    name = getattr(fn, "__name__", "validator")
    try:
        verdict = fn(candidate)
    except Exception as exc:  # noqa: BLE001 - a validator that raises has rejected the candidate
        verdict = f"{type(exc).__name__}: {exc}"
    if verdict is None or verdict is True:
        return Feedback(kind=f"validator:{name}", passed=True, score=1.0, summary="accepted")
    message = verdict if isinstance(verdict, str) else "rejected the output"
    return Feedback(kind=f"validator:{name}", passed=False, score=0.0, summary=f"validator {name}: {message}")
