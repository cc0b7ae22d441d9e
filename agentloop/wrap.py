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

from .models import ModelPool, normalize_uri
from .models.function import FunctionModel
from .orchestrator import execute
from .result import RunResult
from .store import Store
from .task import Task

_SCHEMES = ("scripted:", "llamacpp:", "litellm:")


def _model_uri(llm: Any, pool: ModelPool) -> str:
    if isinstance(llm, str):
        return normalize_uri(llm if llm.startswith(_SCHEMES) else f"litellm:{llm}", None)
    if hasattr(llm, "complete") and hasattr(llm, "uri"):
        return pool.add(llm)
    if callable(llm):
        return pool.add(FunctionModel(llm))
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
    pool = pool or ModelPool()
    models = {"default": _model_uri(llm, pool)}
    if critic is not None:
        models["critic"] = _model_uri(critic, pool)
    task = Task.from_dict({
        "name": "wrapped", "prompt": prompt, "language": language, "entry_point": entry_point,
        "output": output or ("code" if tests or entry_point else "text"),
        "feedback": [{"kind": "tests", "code": tests}] if tests else [],
        "strategy": {"name": "refine", "max_turns": max_turns},
    })
    db = store if isinstance(store, Store) else Store(store)
    try:
        return await execute(task, store=db, models=models, seed=seed, pool=pool, validators=tuple(validators))
    finally:
        if not isinstance(store, Store):
            db.close()


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
