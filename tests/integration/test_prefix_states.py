"""The RAM cache of saved prefix states holds the KV cache, not a copy of the logits of every token.

llama-cpp-python's own ``save_state`` copied ``scores`` (a float per vocabulary entry per held
token: about 196 KB a token for SmolLM2) into every saved state, beside the KV cache it counts
against ``cache_mb``; a sweep's process grew by tens of MB per run, uncounted, and paid for the
copy after every completion. A restored state must still give the same reply as a fresh one.
"""

from __future__ import annotations

import asyncio
import resource

import pytest

from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration

TOPICS = ["rivers", "mountains", "deserts", "forests", "oceans", "glaciers"]


def _prompt(topic: str) -> list[dict[str, str]]:
    # about 200 tokens each, and different from the first words on
    text = " ".join(f"{topic.capitalize()} number {i} is a fine example of {topic}." for i in range(20))
    return [{"role": "user", "content": f"{text} Name one of the {topic}."}]


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


async def _reply(model, messages, tokens=8):
    return await model.complete(messages, Request(role="solver", max_tokens=tokens, temperature=0.0, seed=1))


def test_saved_states_do_not_carry_the_logits_of_every_token():
    model = ModelPool().get("llamacpp:default?n_threads=1&cache_mb=512")
    asyncio.run(_reply(model, _prompt("lakes")))  # loads the model and llama.cpp's buffers
    before = _rss_mb()
    for topic in TOPICS:
        asyncio.run(_reply(model, _prompt(topic)))
    grown = _rss_mb() - before
    # six states of ~210 tokens: ~6 x 5 MB of KV cache; with the logits it was ~6 x 41 MB more
    assert grown < 100, f"the process grew by {grown:.0f} MB for six cached prompt states"
    assert len(model._llama.cache.cache_state) == len(TOPICS) + 1  # all still cached: none was evicted


def test_a_restored_state_gives_the_reply_a_fresh_evaluation_gives():
    cached = ModelPool().get("llamacpp:default?n_threads=1")
    fresh = ModelPool().get("llamacpp:default?n_threads=1&prefix_cache=0")
    first, other = _prompt("rivers"), _prompt("deserts")
    reply = asyncio.run(_reply(cached, first))
    asyncio.run(_reply(cached, other))  # the held state is now another prompt's
    follow = first + [{"role": "assistant", "content": reply.text}, {"role": "user", "content": "And another one?"}]
    again = asyncio.run(_reply(cached, follow, tokens=24))
    assert again.usage.cached_tokens > len(first[0]["content"]) // 8  # the first prompt's state came back from the cache
    assert again.text == asyncio.run(_reply(fresh, follow, tokens=24)).text
