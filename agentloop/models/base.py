"""The model seam: one async method from chat messages to text plus token usage.

A backend may also offer ``complete_many(messages, requests)``: N samples of one prompt, one
future each (llama.cpp evaluates the prompt once, or decodes the samples together); for the
others ``complete_many`` below makes N ``complete`` calls.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..core.confidence import Confidence, EarlyStop


@dataclass(frozen=True)
class Usage:
    """Tokens one call consumed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from a cache (llama.cpp's KV prefix, a provider's prompt cache)
    cost_usd: float | None = None  # from litellm's bundled price table; None when unknown (local models)
    # 2 x parameters x evaluated tokens, for local models whose parameter count is known; None otherwise
    flops: float | None = None

    @property
    def total(self) -> int:
        """Prompt plus completion tokens (nominal: what the model was shown and wrote)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def evaluated(self) -> int:
        """Tokens the model really computed: prompt tokens not served from a cache, plus completion."""
        return self.prompt_tokens - self.cached_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        flops = [f for f in (self.flops, other.flops) if f is not None]
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.cached_tokens + other.cached_tokens, round(sum(costs), 8) if costs else None,
                     sum(flops) if flops else None)

    def to_dict(self) -> dict:
        """The ``usage`` object of ``show --json``."""
        return {"prompt": self.prompt_tokens, "completion": self.completion_tokens, "cached": self.cached_tokens,
                "cost_usd": self.cost_usd, "flops": self.flops}

    @classmethod
    def from_dict(cls, d: dict) -> Usage:
        """Inverse of ``to_dict``."""
        return cls(d["prompt"], d["completion"], d.get("cached", 0), d.get("cost_usd"), d.get("flops"))


@dataclass(frozen=True)
class Completion:
    """A model's reply: text, usage, how long it took, and which model URI produced it."""

    text: str
    usage: Usage
    latency_s: float
    model: str
    confidence: Confidence | None = None  # from the model's token probabilities, where the backend has them
    stopped: EarlyStop | None = None  # set when the reply was cut for low confidence (Request.stop_below)


@dataclass(frozen=True)
class Request:
    """Sampling settings for one call; ``timeout_s`` is a hard deadline for the whole call."""

    role: str
    max_tokens: int = 512
    temperature: float = 0.2
    seed: int | None = None
    timeout_s: float = 120.0
    schema: dict | None = None  # a JSON schema the reply must follow (grammar-constrained where the backend can)
    # stop when the first fenced code block closes: what follows a code reply's block is never read
    stop_at_fence: bool = False
    # DeepConf's online early stop: end the reply once the mean confidence of its last ``confidence.WINDOW``
    # tokens falls below this (llama.cpp and scripted models; litellm cannot stop a provider mid-reply)
    stop_below: float | None = None


@runtime_checkable
class Model(Protocol):
    """A backend. ``complete`` raises ``ModelError`` on failure and never blocks past the deadline."""

    uri: str

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Answer the chat ``messages``."""
        ...


def complete_many(model: Model, messages: list[dict[str, str]], requests: list[Request]) -> list[asyncio.Future]:
    """Sibling samples of one prompt: one future per request, each resolved as its sample ends.

    The model's own ``complete_many`` if it has one, else one ``complete`` task per request.
    Cancelling a future stops that sample only.
    """
    many = getattr(model, "complete_many", None)
    if many is not None:
        return many(messages, requests)
    return [asyncio.ensure_future(model.complete(messages, r)) for r in requests]


def count_prompt_tokens(model: Model, messages: list[dict[str, str]]) -> int:
    """The prompt tokens a call with ``messages`` will be charged, counted before it is made.

    Backends that can tokenize (llama.cpp with the model's own template, litellm's
    ``token_counter``) define ``count_tokens``; the others charge ``approx_tokens`` per message.
    """
    counter = getattr(model, "count_tokens", None)
    if counter is not None:
        return int(counter(messages))
    return sum(approx_tokens(m["content"]) for m in messages)


def approx_tokens(text: str) -> int:
    """A deterministic token estimate (4 characters a token) for backends that cannot count."""
    return (len(text) + 3) // 4
