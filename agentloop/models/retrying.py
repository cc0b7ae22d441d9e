"""The one retry layer for remote models: which failures are retried, and how long to wait.

Failures are told apart by litellm's exception types (litellm maps every provider's errors onto
them), never by message text. Retried: rate limits (honouring ``Retry-After``), server errors,
timeouts, connection failures and resets. Never retried: bad requests, authentication, permission,
not found, unprocessable, context-length errors, anything unclassified. A reply whose body is not
valid JSON gets exactly one re-ask. Attempts and total seconds are both bounded, and no wait runs
past the call's deadline.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from typing import Any

# statuses litellm has no type of its own for (408 and 504 come as Timeout, 409 conflict and 529
# overloaded do not): it raises its catch-all ``APIError`` with the status; these are worth retrying
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}


class MalformedReply(Exception):
    """The server answered, but the body was not a usable chat completion."""


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


def is_transient(exc: BaseException) -> bool:
    """A rate limit or a server-side failure: the same request may well succeed a little later."""
    errors = _litellm_errors()
    if isinstance(exc, (errors.RateLimitError, errors.ServiceUnavailableError, errors.InternalServerError,
                        errors.BadGatewayError)):
        return True
    return isinstance(exc, errors.APIError) and getattr(exc, "status_code", None) in RETRY_STATUS


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
    """One of: context_length, malformed, retryable, fatal; by exception type, never by message text."""
    if is_context_length(exc):
        return "context_length"
    if is_malformed(exc):
        return "malformed"
    if is_transient(exc) or is_connection_failure(exc):
        return "retryable"
    return "fatal"


def backoff_s(attempt: int, exc: BaseException | None, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Wait before the next attempt: the server's ``Retry-After`` if given, else exponential with jitter."""
    hinted = retry_after_s(exc)
    if hinted is not None:
        return hinted
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
