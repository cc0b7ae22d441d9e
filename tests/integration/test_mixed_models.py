"""Several backends in one run, and one loaded model shared between runs."""

from __future__ import annotations

import pytest

import agentloop
from agentloop import ModelPool, Task

pytestmark = pytest.mark.integration

FAILING = "from solution import add\ndef test_add(): assert add(2, 3) == 6  # impossible: forces a critique\n"


def add_task(**extra) -> Task:
    return Task.from_dict({"name": "add", "prompt": "Write a Python function add(a, b) that returns a + b.",
                           "entry_point": "add", "feedback": [{"kind": "tests", "code": FAILING}],
                           "strategy": {"name": "refine", "max_turns": 2}, **extra})


def test_local_solver_with_a_remote_critic(openai_server, tmp_path):
    pytest.importorskip("litellm")
    remote = f"litellm:openai/smollm2?api_base={openai_server}&api_key=none"
    task = add_task(models={"default": "llamacpp:default", "critic": remote})
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0)
    assert result.status == "unsolved"
    assert [(t.role, t.model) for t in result.graph.turns()] == [
        ("solver", "llamacpp:default"), ("critic", remote), ("refiner", "llamacpp:default")]
    assert all(t.usage.completion_tokens > 0 for t in result.graph.turns())


def test_one_pool_loads_a_model_once_and_its_kv_prefix_serves_the_next_run(tmp_path):
    pool = ModelPool()
    task = add_task(models={"default": "llamacpp:default"}, strategy={"name": "refine", "max_turns": 1})
    first = agentloop.run(task, store=tmp_path / "s.db", seed=0, pool=pool)
    llama = pool.get("llamacpp:default")._llama
    second = agentloop.run(task, store=tmp_path / "s.db", seed=0, pool=pool)
    assert pool.get("llamacpp:default")._llama is llama  # not loaded twice
    t1, t2 = first.graph.turns()[0], second.graph.turns()[0]
    assert t1.usage.cached_tokens <= 1  # a freshly loaded model evaluates (all but at most one token)
    # the same prompt in the next run: (almost) all of it comes from the saved state
    assert t2.usage.prompt_tokens == t1.usage.prompt_tokens and t2.usage.cached_tokens >= t2.usage.prompt_tokens - 2


def test_refine_turns_reuse_the_kv_prefix_of_the_conversation(tmp_path):
    result = agentloop.run(add_task(models={"default": "llamacpp:default"}), store=tmp_path / "s.db", seed=0)
    solver, critic, refiner = result.graph.turns()
    # the critic's prompt is the solver's prompt + reply + one message: all but that message is cached
    assert critic.usage.cached_tokens >= solver.usage.prompt_tokens
    assert refiner.usage.cached_tokens >= critic.usage.prompt_tokens
    assert refiner.usage.prompt_tokens - refiner.usage.cached_tokens < 60
