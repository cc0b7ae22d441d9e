"""Sibling samples of one prompt on the embedded model: the prompt evaluated once, and with
``batch=1`` the samples decoded together, each still its own seeded sample that ends on its own."""

from __future__ import annotations

import pytest

import agentloop
from agentloop import Task
from agentloop.errors import ModelError
from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration

PROMPT = "Write a Python function is_prime(n) that returns True when n is prime."
TESTS = "from solution import is_prime\ndef test_p(): assert is_prime(7) and not is_prime(8)\n"
MESSAGES = [{"role": "user", "content": PROMPT}]


def best_of(n: int, batch: int, max_tokens: int) -> Task:
    return Task.from_dict({"name": "bon", "prompt": PROMPT, "entry_point": "is_prime",
                           "feedback": [{"kind": "tests", "code": TESTS}],
                           "strategy": {"name": "best_of_n", "n": n, "early_stop": False},
                           "models": {"default": f"llamacpp:default?batch={batch}"},
                           "sampling": {"solver": {"max_tokens": max_tokens}}})


def test_batched_samples_are_seeded_reproducible_and_distinct(tmp_path):
    task = best_of(4, batch=1, max_tokens=24)
    first = agentloop.run(task, store=tmp_path / "a.db", seed=3, pool=ModelPool())
    again = agentloop.run(task, store=tmp_path / "b.db", seed=3, pool=ModelPool())
    outputs = [t.output for t in first.graph.turns()]
    assert len(outputs) == 4 and all(o.strip() for o in outputs)
    assert outputs == [t.output for t in again.graph.turns()]  # same seed, same samples
    assert len(set(outputs)) > 1  # each sample drew with its own seed: not one sample copied four times
    other = agentloop.run(task, store=tmp_path / "c.db", seed=4, pool=ModelPool())
    assert [t.output for t in other.graph.turns()] != outputs


@pytest.mark.parametrize("batch", [0, 1])
def test_best_of_16_evaluates_its_prompt_once(tmp_path, batch):
    result = agentloop.run(best_of(16, batch=batch, max_tokens=8), store=tmp_path / "s.db", seed=1, pool=ModelPool())
    turns = result.graph.turns()
    assert len(turns) == 16
    prompt = turns[0].usage.prompt_tokens
    assert prompt > 50 and all(t.usage.prompt_tokens == prompt for t in turns)
    # cached_tokens comes from llama.cpp's own counter of tokens it evaluated for the call
    evaluated = sum(t.usage.prompt_tokens - t.usage.cached_tokens for t in turns)
    assert evaluated <= 1.1 * prompt, f"{evaluated} prompt tokens evaluated for 16 samples of a {prompt}-token prompt"


async def test_batched_samples_end_on_their_own():
    model = ModelPool().get("llamacpp:default?batch=1")
    requests = [Request(role="solver", max_tokens=6, temperature=0.8, seed=1),
                Request(role="solver", max_tokens=40, temperature=0.8, seed=2),
                Request(role="solver", max_tokens=400, temperature=0.0, seed=3, timeout_s=0.5),
                Request(role="solver", max_tokens=400, temperature=0.8, seed=4)]
    short, longer, late, dropped = model.complete_many(MESSAGES, requests)
    dropped.cancel()  # an early stop: only this sample ends
    first = await short
    assert 0 < first.usage.completion_tokens <= 6
    assert not longer.done()  # delivered as it ended, while the others went on decoding
    second = await longer
    assert 6 < second.usage.completion_tokens <= 40 and second.text
    with pytest.raises(ModelError, match="no reply within"):
        await late
    assert dropped.cancelled()
    # the model is free again: a plain call works
    again = await model.complete(MESSAGES, Request(role="solver", max_tokens=4, temperature=0.0))
    assert again.usage.completion_tokens > 0


def test_samples_that_do_not_fit_one_context_are_decoded_in_groups():
    from agentloop.models.llamacpp_batch import Job, _groups
    jobs = [Job(max_tokens=500, temperature=0.8, seed=i, timeout_s=60, stop=None, done=print) for i in range(16)]
    groups = _groups(jobs, 300, 4 * 1024)
    assert [j for g in groups for j in g] == jobs  # every sample, in order
    assert len(groups) > 1 and all(300 + sum(j.max_tokens + 1 for j in g) <= 4 * 1024 for g in groups)
