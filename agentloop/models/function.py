"""A plain Python function as a model: ``async def f(prompt) -> str`` (or a sync one).

This is how ``agentloop.wrap`` puts an existing LLM call inside a critique-and-refine loop. The
chat messages are flattened into one prompt; usage is estimated at four characters a token.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from ..errors import ModelError
from .base import Completion, Request, Usage, approx_tokens


def flatten(messages: list[dict[str, str]]) -> str:
    """One prompt string: a lone user message as is, else each message under its role."""
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


class FunctionModel:
    """Calls ``fn(prompt)`` under the request's deadline."""

    def __init__(self, fn: Callable[[str], Any], uri: str | None = None) -> None:
        self.fn = fn
        # id(): two lambdas (solver and critic) share a qualname but must not share a pool slot
        self.uri = uri or f"function:{getattr(fn, '__qualname__', 'fn')}@{id(fn):x}"

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """The prompt tokens a call will be charged (the estimate of the flattened prompt)."""
        return approx_tokens(flatten(messages))

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Call the function (a sync one runs in a thread) and wrap its text."""
        started, prompt = time.monotonic(), flatten(messages)
        call = self.fn(prompt) if inspect.iscoroutinefunction(self.fn) else asyncio.to_thread(self.fn, prompt)
        try:
            text = await asyncio.wait_for(call, request.timeout_s)
        except TimeoutError:
            raise ModelError(f"{self.uri}: no reply within {request.timeout_s:.1f} s") from None
        except Exception as exc:  # noqa: BLE001 - the wrapped call is user code; its failure is a model failure
            raise ModelError(f"{self.uri}: {type(exc).__name__}: {exc}") from None
        text = str(text)
        return Completion(text=text, usage=Usage(approx_tokens(prompt), approx_tokens(text)),
                          latency_s=time.monotonic() - started, model=self.uri)
