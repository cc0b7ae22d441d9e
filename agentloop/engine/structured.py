"""Structured replies: a role that must return data (a verdict, a score) asks for a JSON schema.

The backend constrains sampling where it can (llama.cpp compiles the schema to a grammar;
litellm sends ``response_format``). The reply is validated with pydantic; an invalid one gets
exactly one re-ask that quotes the error, and a second failure is returned as an error string
for the caller to turn into feedback, never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..models.base import Completion, Model, Request

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class Structured(Generic[T]):
    """The parsed value (or ``None``), every completion it took, and the last error if it failed."""

    value: T | None
    completions: tuple[Completion, ...]
    error: str | None = None
    messages: tuple[dict[str, str], ...] = ()  # the first request's messages


def parse_reply(text: str, schema: type[T]) -> T:
    """Validate ``text`` (optionally inside a code fence) as ``schema``; raises ``ValueError``."""
    body = text.strip()
    if match := _FENCE.match(body):
        body = match.group(1).strip()
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise ValueError(f"{where}: {first['msg']}") from None


async def complete_structured(model: Model, messages: list[dict[str, str]], request: Request,
                              schema: type[T]) -> Structured[T]:
    """Ask ``model`` for a reply matching ``schema``, re-asking once with the error if it does not."""
    request = replace(request, schema=schema.model_json_schema())
    first = await model.complete(messages, request)
    try:
        return Structured(parse_reply(first.text, schema), (first,), messages=tuple(messages))
    except ValueError as exc:
        error = str(exc)
    reask = [*messages, {"role": "assistant", "content": first.text},
             {"role": "user", "content": f"That reply is not valid ({error}). Reply with only a JSON object "
                                         f"matching this schema:\n{json.dumps(request.schema)}"}]
    second = await model.complete(reask, request)
    try:
        return Structured(parse_reply(second.text, schema), (first, second), messages=tuple(messages))
    except ValueError as exc:
        return Structured(None, (first, second), f"invalid structured reply after one re-ask: {exc}", tuple(messages))
