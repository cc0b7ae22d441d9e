"""The embedded SmolLM2-135M model through llama.cpp, for real: no scripted replies here."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import FIZZ_TESTS

import agentloop
from agentloop import Task
from agentloop.errors import ModelError
from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration

ADD_TESTS = "from solution import add\ndef test_add(): assert add(2, 3) == 5\n"


def test_embedded_model_solves_add_and_stores_real_token_counts(tmp_path):
    task = Task.from_dict({"name": "add", "prompt": "Write a Python function add(a, b) that returns the sum of a and b.",
                           "entry_point": "add", "feedback": [{"kind": "compile"}, {"kind": "tests", "code": ADD_TESTS}],
                           "strategy": {"name": "refine", "max_turns": 2}, "models": {"default": "llamacpp:default"}})
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0)
    assert result.status in ("solved", "unsolved")
    _, _, graph = agentloop.load_run(result.run_id, store=tmp_path / "s.db")
    first = graph.turns()[0]
    assert first.model == "llamacpp:default" and first.output.strip()
    # real tokenizer counts: the chat template adds tokens the 4-characters estimate knows nothing about
    assert first.usage.prompt_tokens > 30 and 0 < first.usage.completion_tokens <= 768
    assert result.tokens.prompt_tokens == sum(t.usage.prompt_tokens for t in graph.turns())


def test_embedded_model_runs_a_multi_turn_refine_to_completion(tmp_path):
    task = Task.from_dict({"name": "fizzbuzz", "entry_point": "fizzbuzz",
                           "prompt": "Write a Python function fizzbuzz(n) that returns 'Fizz' for multiples of 3, "
                                     "'Buzz' for multiples of 5, 'FizzBuzz' for both, else str(n).",
                           "feedback": [{"kind": "compile"}, {"kind": "tests", "code": FIZZ_TESTS}],
                           "strategy": {"name": "refine", "max_turns": 3}, "models": {"default": "llamacpp:default"},
                           "budget": {"max_seconds": 240}})
    result = agentloop.run(task, store=tmp_path / "s.db", seed=1)
    assert result.status in ("solved", "unsolved"), result.error
    turns = result.graph.turns()
    if result.status == "unsolved":
        assert [t.role for t in turns] == ["solver", "critic", "refiner", "critic", "refiner"]
        refiner_prompt = "\n".join(m["content"] for m in turns[2].messages)
        assert "I ran the checks on your code" in refiner_prompt and turns[1].output in refiner_prompt
    assert all(t.usage.completion_tokens > 0 for t in turns)


async def test_deadline_stops_generation_and_frees_the_model():
    model = ModelPool().get("llamacpp:default")
    # at temperature 0 this prompt fills any token limit (measured: 3000 tokens, ~55 s, here)
    messages = [{"role": "user", "content": "Write a very long story, at least 3000 words, about a dragon."}]
    await model.complete(messages, Request(role="solver", max_tokens=4))  # load outside the timed part
    started = time.monotonic()
    with pytest.raises(ModelError, match="no reply within"):
        await model.complete(messages, Request(role="solver", max_tokens=3000, temperature=0.0, timeout_s=0.5))
    assert time.monotonic() - started < 2.0  # not the ~55 s that 3000 tokens take
    # the worker thread let go of the model's lock: the next call is served at once
    reply = await asyncio.wait_for(model.complete(messages, Request(role="solver", max_tokens=8)), 10)
    assert reply.usage.completion_tokens > 0


def test_seeded_runs_repeat_exactly(tmp_path):
    task = Task.from_dict({"name": "add", "prompt": "Write a Python function add(a, b) that returns a + b.",
                           "entry_point": "add", "models": {"default": "llamacpp:default"},
                           "strategy": {"name": "refine", "max_turns": 1}})
    outputs = [agentloop.run(task, store=tmp_path / "s.db", seed=5).graph.turns()[0].output for _ in range(2)]
    assert outputs[0] == outputs[1]
