"""The run's budget: its limits checked (``Budget``), and its token budget exact: every call's
prompt is counted before it is made and its completion capped, so no run spends more than
``budget.max_tokens``, concurrent calls included.

A call holds ``prompt + max_tokens`` from the moment it is granted until it ends, then the tokens
it really used until its turn is committed (from then on the graph counts them); a call that would
not get even ``MIN_COMPLETION`` tokens is not made.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core import telemetry
from ..models.base import Completion, Request, count_prompt_tokens

if TYPE_CHECKING:
    from ..task import Budget as Limits

MIN_COMPLETION = 16  # a call the budget leaves fewer completion tokens than this is not made


class BudgetExhausted(Exception):
    """Raised inside a strategy when a budget limit is reached; the run then stops cleanly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenMeter:
    """Tokens held by calls in flight, against ``limit`` (None: no token budget)."""

    def __init__(self, limit: int | None, spent: Callable[[], int]) -> None:
        self.limit, self._spent = limit, spent
        self.held = 0

    def full(self) -> bool:
        """True when what was spent plus what calls in flight hold reaches the limit."""
        return self.limit is not None and self._spent() + self.held >= self.limit

    def hold(self, request: Request, prompt_tokens: int) -> tuple[Request, int]:
        """``request`` with its completion capped to fit what is left after the calls in flight,
        and the tokens now held for it (``release`` them when the call ends).

        ``BudgetExhausted`` when not even ``MIN_COMPLETION`` tokens (or the request's own cap) fit.
        """
        if self.limit is None:
            return request, 0
        left = self.limit - self._spent() - self.held - prompt_tokens
        if left < min(MIN_COMPLETION, request.max_tokens):
            raise BudgetExhausted("budget:max_tokens")
        request = replace(request, max_tokens=min(request.max_tokens, left))
        self.held += prompt_tokens + request.max_tokens
        return request, prompt_tokens + request.max_tokens

    def settle(self, held: int, used: int) -> int:
        """A call ended having used ``used`` tokens: hold exactly that until its turn is committed
        (until then the graph does not count it); returns what is now held."""
        self.held += used - held
        return used

    def release(self, held: int) -> None:
        """The turn is committed: what it held is now counted as spent by the graph."""
        self.held -= held


class Metered:
    """A model seen through a meter: each call's prompt counted, completion capped, tokens held
    while it runs and its usage held after it, in ``held``, until the caller's turn is committed
    and releases it (used for the judge's calls, which may re-ask once)."""

    def __init__(self, meter: TokenMeter, model: Any, held: list[int], calls: Any = None) -> None:
        self.uri, self._meter, self._model, self._held = model.uri, meter, model, held
        self._calls = calls  # the run's ModelCalls: a judge's call keeps the run on the model too

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """The wrapped model's reply, within what is left of the budget."""
        request, held = self._meter.hold(request, count_prompt_tokens(self._model, messages))
        try:
            with (self._calls.call() if self._calls is not None else contextlib.nullcontext(),
                  telemetry.model_call(self.uri, request) as span):
                reply = await self._model.complete(messages, request)
                span.usage(reply.usage)
        except BaseException:
            self._meter.release(held)
            raise
        self._held.append(self._meter.settle(held, reply.usage.total))
        return reply


class Budget:
    """A run's ``limits`` (the task's ``budget``) against what it spent: the turns it started, the
    tokens spent plus those held by calls in flight (``meter``), and its wall seconds across resumes
    (``base_seconds`` were spent by earlier attempts)."""

    def __init__(self, limits: Limits, spent_tokens: Callable[[], int], base_seconds: float = 0.0) -> None:
        self.limits = limits
        self.meter = TokenMeter(limits.max_tokens, spent_tokens)
        self._base_seconds, self._started = base_seconds, time.monotonic()

    def seconds(self) -> float:
        """Wall seconds spent on the run, across resumes."""
        return self._base_seconds + (time.monotonic() - self._started)

    def seconds_left(self) -> float | None:
        """What is left of ``max_seconds`` (never below 0); None without a seconds budget."""
        return None if self.limits.max_seconds is None else max(0.0, self.limits.max_seconds - self.seconds())

    def out_of_time(self) -> bool:
        """True once ``max_seconds`` is spent."""
        return self.limits.max_seconds is not None and self.seconds() >= self.limits.max_seconds

    def refusal(self, turns_started: int) -> str | None:
        """The stop reason (``budget:...``) if no new turn may start, else None."""
        # turns still in flight count: concurrent branches draw from the same limit
        if self.limits.max_turns is not None and turns_started >= self.limits.max_turns:
            return "budget:max_turns"
        if self.meter.full():  # tokens held by calls in flight count too, or concurrent samples overshoot
            return "budget:max_tokens"
        if self.out_of_time():
            return "budget:max_seconds"
        return None

    def call_timeout(self, cap: float) -> float:
        """A model call's deadline: ``cap`` seconds, or what is left of the seconds budget if less."""
        left = self.seconds_left()
        return cap if left is None else max(0.1, min(cap, left))
