"""DeepConf's online early stop on the embedded model: ``Request.stop_below`` ends a llama.cpp sample
(single and batched) at the first window of low confidence, and without it the sample runs to its cap."""

from __future__ import annotations

import asyncio

import pytest

from agentloop.core.confidence import WINDOW
from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Count from 1 to 200, one number per line."}]
CAP = WINDOW + 16


def _complete(uri: str, *requests: Request):
    async def go():
        model = ModelPool().get(uri)
        if len(requests) == 1:
            return [await model.complete(MESSAGES, requests[0])]
        return [await f for f in model.complete_many(MESSAGES, list(requests))]
    return asyncio.run(go())


@pytest.mark.parametrize("uri", ["llamacpp:default", "llamacpp:default?batch=1"])
def test_a_threshold_above_any_confidence_stops_at_the_first_full_window(uri):
    high, none = (Request(role="solver", max_tokens=CAP, temperature=0.0, seed=1, stop_below=stop) for stop in (1e9, None))
    stopped, whole = _complete(uri, high, none) if "batch" in uri else [*_complete(uri, high), *_complete(uri, none)]
    # no window mean can reach 1e9: the first one judged, at token WINDOW, ends the sample
    assert stopped.stopped is not None and stopped.stopped.token == WINDOW and stopped.stopped.threshold == 1e9
    assert stopped.usage.completion_tokens == WINDOW == stopped.confidence.tokens
    assert stopped.stopped.group == pytest.approx(stopped.confidence.lowest_group, abs=1e-4)
    assert whole.stopped is None and whole.usage.completion_tokens == CAP == whole.confidence.tokens
    assert whole.text.startswith(stopped.text)  # greedy: the same tokens, the stopped one cut short
