"""The model seam: one async method from chat messages to text plus token usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Usage:
    """Tokens one call consumed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A model's reply: text, usage, how long it took, and which model URI produced it."""

    text: str
    usage: Usage
    latency_s: float
    model: str


@dataclass(frozen=True)
class Request:
    """Sampling settings for one call; ``timeout_s`` is a hard deadline for the whole call."""

    role: str
    max_tokens: int = 512
    temperature: float = 0.2
    seed: int | None = None
    timeout_s: float = 120.0


@runtime_checkable
class Model(Protocol):
    """A backend. ``complete`` raises ``ModelError`` on failure and never blocks past the deadline."""

    uri: str

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Answer the chat ``messages``."""
        ...


def approx_tokens(text: str) -> int:
    """A deterministic token estimate (4 characters a token) for backends that cannot count."""
    return (len(text) + 3) // 4
