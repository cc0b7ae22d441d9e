"""Token confidence on the embedded model: computed from llama.cpp's own logits, stored and shown for every turn."""

from __future__ import annotations

import asyncio
import math

import pytest

import agentloop
from agentloop import Task
from agentloop.core.confidence import lowest_group, token_confidence
from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}]


def _complete(uri: str, *requests: Request):
    async def go():
        model = ModelPool().get(uri)
        if len(requests) == 1:
            return [await model.complete(MESSAGES, requests[0])], model
        return [await f for f in model.complete_many(MESSAGES, list(requests))], model
    return asyncio.run(go())


def test_greedy_confidence_equals_llama_cpp_pythons_own_logprobs(embedded_gguf):
    """The same greedy tokens scored by llama-cpp-python's ``logprobs`` (a model loaded with logits_all)."""
    from llama_cpp import Llama
    [ours], model = _complete("llamacpp:default", Request(role="solver", max_tokens=40, temperature=0.0, seed=3))
    llama = model._load()
    prompt = model._tokens(llama, model._chat_formatter(llama), MESSAGES)
    bare = Llama(model_path=embedded_gguf, logits_all=True, verbose=False, n_ctx=2048, n_threads=2)
    reply = bare.create_completion(prompt=prompt, max_tokens=40, temperature=0.0, logprobs=20)
    lp = reply["choices"][0]["logprobs"]
    assert reply["choices"][0]["text"] == ours.text and ours.confidence.tokens == len(lp["token_logprobs"]) == 40
    assert math.isclose(ours.confidence.mean_logprob, sum(lp["token_logprobs"]) / 40, abs_tol=2e-3)
    # its top_logprobs is a dict keyed by token text, so two tokens that print alike count once: close, not equal
    confidences = [token_confidence(list(top.values())) for top in lp["top_logprobs"]]
    assert math.isclose(ours.confidence.lowest_group, lowest_group(confidences, 32), rel_tol=2e-3)
    assert ours.confidence.self_certainty > 0  # KL from uniform: positive for any non-uniform distribution


def test_confidence_changes_with_temperature_and_batched_samples_have_it_too():
    [greedy], _ = _complete("llamacpp:default", Request(role="solver", max_tokens=32, temperature=0.0, seed=1))
    [hot], _ = _complete("llamacpp:default", Request(role="solver", max_tokens=32, temperature=1.5, seed=1))
    assert greedy.text != hot.text and greedy.confidence.mean_logprob != hot.confidence.mean_logprob
    # greedy picks the most likely token at every step: no sampled reply can beat it token by token on average here
    assert greedy.confidence.mean_logprob > hot.confidence.mean_logprob
    samples, _ = _complete("llamacpp:default?batch=1", *[Request(role="solver", max_tokens=24, temperature=0.8, seed=s)
                                                          for s in (1, 2)])
    assert all(s.confidence is not None and s.confidence.tokens == s.usage.completion_tokens for s in samples)
    [off], _ = _complete("llamacpp:default?confidence=0", Request(role="solver", max_tokens=8, temperature=0.0))
    assert off.confidence is None


def test_every_llama_cpp_turn_of_a_run_stores_its_confidence(tmp_path):
    task = Task.from_dict({"name": "add", "prompt": "Write a Python function add(a, b) that returns the sum of a and b.",
                           "entry_point": "add", "feedback": [{"kind": "compile"}],
                           "strategy": {"name": "best_of_n", "n": 2, "early_stop": False},
                           "models": {"default": "llamacpp:default"}, "budget": {"max_tokens": 3000}})
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0)
    _, _, graph = agentloop.load_run(result.run_id, store=tmp_path / "s.db")
    assert len(graph.turns()) == 2
    for turn in graph.turns():
        assert turn.confidence is not None and turn.confidence.tokens >= 1
        assert turn.confidence.mean_logprob <= 0 and math.isfinite(turn.confidence.self_certainty)
