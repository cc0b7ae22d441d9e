"""Each strategy runs to completion on the real embedded model (no scripted replies)."""

from __future__ import annotations

import pytest
from helpers import FIZZ_TESTS

import agentloop
from agentloop import ModelPool, Task

pytestmark = pytest.mark.integration

SHORT = {"solver": {"max_tokens": 200}, "critic": {"max_tokens": 120}, "refiner": {"max_tokens": 200},
         "judge": {"max_tokens": 120}}


@pytest.fixture(scope="module")
def pool():
    return ModelPool()  # one load of the model for every test here


def fizz(strategy: dict, **extra) -> Task:
    return Task.from_dict({"name": "fizz", "entry_point": "fizzbuzz", "strategy": strategy, "sampling": SHORT,
                           "prompt": "Write a Python function fizzbuzz(n) that returns 'Fizz' for multiples of 3, "
                                     "'Buzz' for multiples of 5, 'FizzBuzz' for both, else str(n).",
                           "feedback": [{"kind": "compile"}, {"kind": "tests", "code": FIZZ_TESTS}],
                           "models": {"default": "llamacpp:default"}, **extra})


@pytest.mark.parametrize("strategy, roles", [
    ({"name": "best_of_n", "n": 3, "early_stop": False}, {"solver"}),
    ({"name": "reflexion", "max_attempts": 2}, {"solver", "critic"}),
    ({"name": "tree", "mode": "beam", "initial": 2, "width": 2, "depth": 1}, {"solver", "critic", "refiner"}),
    ({"name": "tree", "mode": "uct", "initial": 2, "width": 1, "iterations": 2}, {"solver", "critic", "refiner"}),
    ({"name": "refine", "max_turns": 2, "reject_repeats": True, "temperature_step": 0.3, "fresh_refiner": True},
     {"solver", "critic", "refiner"}),
    ({"name": "codet", "n": 2, "testers": 2}, {"solver", "tester", "codet"}),
    ({"name": "magicore", "samples": 2, "focus": 1, "rounds": 1}, {"solver", "critic", "refiner"}),
])
def test_strategy_completes_on_the_embedded_model(strategy, roles, pool, tmp_path):
    result = agentloop.run(fizz(strategy), store=tmp_path / "s.db", seed=3, pool=pool)
    assert result.status in ("solved", "unsolved"), result.error
    turns = result.graph.turns()
    assert {t.role for t in turns} <= roles and "solver" in {t.role for t in turns}
    assert all(t.usage.completion_tokens > 0 for t in turns if not t.model.startswith("agentloop:"))
    if result.status == "unsolved" and strategy["name"] != "codet":  # codet's table needs parseable tests
        assert {t.role for t in turns} == roles  # it really went through every stage


def test_the_judge_kind_on_the_embedded_model(pool, tmp_path):
    task = fizz({"name": "refine", "max_turns": 1},
                feedback=[{"kind": "compile"}, {"kind": "judge", "rubric": "Correct and readable.", "weight": 0.5}])
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0, pool=pool)
    judge = result.graph.turns()[0].feedback[1]
    assert judge.kind == "judge" and 0.0 <= judge.score <= 1.0
    assert "rationale" in judge.details or "no usable verdict" in judge.summary
