"""Sibling turns of one prompt share one model call: ``complete_many`` instead of N ``complete``.

A strategy asks for N samples of one prompt by starting N turns at once (``best_of_n``, and
``Run.sample`` for ``tree``, ``codet`` and ``magicore``): each turn reaches its model call in the
same pass of the event loop, before anything awaits. The calls that reach one model with the same
messages in one pass are gathered here and made as one ``complete_many`` at the end of that pass,
so llama.cpp evaluates the prompt once (and, with ``batch=1``, decodes the samples together).
Each turn still gets its own completion as soon as its sample ends, and cancelling a turn (an
early stop) stops only its own sample.
"""

from __future__ import annotations

import asyncio
import json

from ..core import telemetry
from ..models import ModelCalls
from ..models.base import Completion, Model, Request, complete_many


class Siblings:
    """Gathers the model calls of sibling turns; one per run."""

    def __init__(self, calls: ModelCalls | None = None) -> None:
        self._open: dict[tuple[int, str], list[tuple[Request, asyncio.Future]]] = {}
        self._calls = calls or ModelCalls()

    async def complete(self, model: Model, messages: list[dict[str, str]], request: Request) -> Completion:
        """``model.complete(messages, request)``, made together with the same call of sibling turns."""
        # counted from the request until this sample's reply (the sweep's scheduler)
        with self._calls.call(), telemetry.model_call(model.uri, request) as span:
            completion = await self._complete(model, messages, request)
            span.usage(completion.usage)
            return completion

    async def _complete(self, model: Model, messages: list[dict[str, str]], request: Request) -> Completion:
        if getattr(model, "complete_many", None) is None:
            return await model.complete(messages, request)  # nothing to share: no need to wait for the pass to end
        key = (id(model), json.dumps(messages))
        loop = asyncio.get_running_loop()
        if key not in self._open:
            self._open[key] = []
            loop.call_soon(self._flush, key, model, messages)
        slot = loop.create_future()  # resolved with this request's own future when the pass ends
        self._open[key].append((request, slot))
        try:
            sample = await slot
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                slot.result().cancel()  # cancelled just as its sample started
            raise
        return await sample  # cancelling this turn cancels its sample's future: that sample stops

    def _flush(self, key: tuple[int, str], model: Model, messages: list[dict[str, str]]) -> None:
        waiting = [(r, slot) for r, slot in self._open.pop(key) if not slot.done()]
        if not waiting:
            return
        for (_, slot), sample in zip(waiting, complete_many(model, messages, [r for r, _ in waiting])):
            slot.set_result(sample)
