"""The one retry layer for remote models: which failures are retried, and how long to wait.

Retried: 429 (honouring ``Retry-After``), 5xx, connection failures and resets. Never retried:
400/401/403/404/422, context-length errors, anything unclassified. A reply whose body is not
valid JSON gets exactly one re-ask. Attempts and total seconds are both bounded, and no wait
runs past the call's deadline.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from typing import Any

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}


class MalformedReply(Exception):
    """The server answered, but the body was not a usable chat completion."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, if any."""
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def _litellm_errors() -> Any:
    import litellm  # already imported by the caller that got the error; looked up here, not at import
    return litellm.exceptions


def _caused_by(exc: BaseException, kinds: type | tuple[type, ...]) -> bool:
    """Whether ``exc`` or an exception it was raised from (or during) is one of ``kinds``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def is_context_length(exc: BaseException) -> bool:
    """True for 'prompt too long for the model': litellm maps every provider's wording to one type."""
    return isinstance(exc, _litellm_errors().ContextWindowExceededError)


def is_malformed(exc: BaseException) -> bool:
    """True when the reply arrived but its body was not a usable chat completion (a JSON decode error inside)."""
    return _caused_by(exc, (MalformedReply, json.JSONDecodeError, _litellm_errors().APIResponseValidationError))


def is_connection_failure(exc: BaseException) -> bool:
    """Connection refused, reset, or cut off mid-reply; a timeout."""
    import httpx  # litellm's (and the OpenAI SDK's) transport
    errors = _litellm_errors()
    return _caused_by(exc, (errors.APIConnectionError, errors.Timeout, httpx.TransportError, ConnectionError, TimeoutError))


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or HTTP date) on the error's response."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None) or getattr(exc, "litellm_response_headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def classify(exc: BaseException) -> str:
    """One of: context_length, malformed, retryable, fatal; by exception type and HTTP status, never by message text."""
    if is_context_length(exc):
        return "context_length"
    if is_malformed(exc):
        return "malformed"
    if status_of(exc) in RETRY_STATUS or is_connection_failure(exc):
        return "retryable"
    return "fatal"


def backoff_s(attempt: int, exc: BaseException | None, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Wait before the next attempt: the server's ``Retry-After`` if given, else exponential with jitter."""
    hinted = retry_after_s(exc)
    if hinted is not None:
        return hinted
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
