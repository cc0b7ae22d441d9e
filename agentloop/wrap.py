"""Wrap an existing LLM call in a verified critique-and-refine loop: one call, or a decorator.

``llm`` may be a litellm model string (``"openai/gpt-4o-mini"``), an agentloop model URI
(``"llamacpp:default"``), an agentloop ``Model``, or a plain ``async def f(prompt) -> str``
(a sync function works too). Checks are pytest ``tests`` run in the sandbox and/or Python
``validators`` that inspect the output text (they never execute it).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .api import arun
from .models import Model, ModelPool
from .models.function import FunctionModel
from .store import Store
from .store.result import RunResult
from .task import Task

_SCHEMES = ("scripted:", "llamacpp:", "litellm:")


def _model(llm: Any) -> str | Model:
    if isinstance(llm, str):
        return llm if llm.startswith(_SCHEMES) else f"litellm:{llm}"
    if hasattr(llm, "complete") and hasattr(llm, "uri"):
        return llm
    if callable(llm):
        return FunctionModel(llm)
    raise TypeError(f"cannot use {llm!r} as a model: give a model string, a Model, or a function prompt -> str")


async def arefine(llm: Any, prompt: str, *, tests: str | None = None,
                  validators: Sequence[Callable[[str], Any]] = (), critic: Any = None, max_turns: int = 4,
                  language: str = "python", entry_point: str | None = None, output: str | None = None,
                  seed: int | None = None, store: Store | str | Path = ":memory:",
                  pool: ModelPool | None = None) -> RunResult:
    """Run ``prompt`` through solve → check → critique → refine with ``llm``; returns the best output.

    ``output`` is ``"code"`` (a fenced block is extracted and checked) or ``"text"`` (the whole
    reply is the candidate); by default code when ``tests`` or ``entry_point`` is given.
    ``result.solution`` is the best output, ``result.graph`` the whole trace.
    """
    if not tests and not validators:
        raise ValueError("give tests and/or validators: a loop with nothing to check cannot refine")
    models = {"default": _model(llm)}
    if critic is not None:
        models["critic"] = _model(critic)
    task = Task.from_dict({
        "name": "wrapped", "prompt": prompt, "language": language, "entry_point": entry_point,
        "output": output or ("code" if tests or entry_point else "text"),
        "feedback": [{"kind": "tests", "code": tests}] if tests else [],
        "strategy": {"name": "refine", "max_turns": max_turns},
    })
    return await arun(task, models, store=store, seed=seed, pool=pool, validators=validators)


def refine(llm: Any, prompt: str, **options: Any) -> RunResult:
    """Blocking ``arefine``."""
    return asyncio.run(arefine(llm, prompt, **options))


def refined(**options: Any) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Decorator: ``@refined(tests=..., validators=[...])`` on ``async def f(prompt) -> str`` makes
    ``await f(prompt)`` return the ``RunResult`` of a verified refine loop around ``f``."""
    def decorate(fn: Callable[[str], Any]) -> Callable[[str], Any]:
        model = FunctionModel(fn)

        @functools.wraps(fn)
        async def wrapper(prompt: str) -> RunResult:
            return await arefine(model, prompt, **options)
        return wrapper
    return decorate
