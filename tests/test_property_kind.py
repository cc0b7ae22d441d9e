"""The `property` feedback kind: hypothesis with a fixed seed; the shrunk counterexample reaches the refiner."""

from __future__ import annotations

import pytest
from helpers import GOOD_FIZZ

import agentloop
from agentloop import Task
from agentloop.feedback import run_checks
from agentloop.sandbox import Sandbox

PROPERTY = """from hypothesis import given, strategies as st
from solution import fizzbuzz

@given(st.integers(1, 10**6))
def test_fizz_iff_div3(n):
    assert fizzbuzz(n).startswith("Fizz") == (n % 3 == 0)
"""
WRONG = "```python\ndef fizzbuzz(n):\n    return 'Fizz' if n % 5 == 0 else str(n)\n```"


def task(**kw) -> Task:
    return Task.from_dict({"name": "t", "prompt": "p", "feedback": [{"kind": "property", "code": PROPERTY, **kw}]})


async def test_counterexample_is_shrunk_deterministic_and_first_in_the_summary():
    sandbox = Sandbox()
    try:
        code = "def fizzbuzz(n):\n    return 'Fizz' if n % 5 == 0 else str(n)\n"
        first = await run_checks(code, task(), sandbox)
        second = await run_checks(code, task(), sandbox)
    finally:
        sandbox.close()
    [fb] = first
    assert not fb.passed
    assert fb.details["counterexamples"] == second[0].details["counterexamples"]  # fixed seed: same every run
    example = fb.details["counterexamples"][0]
    assert example.startswith("test_fizz_iff_div3(n=")
    n = int(example.split("n=")[1].rstrip(")"))
    assert (n % 3 == 0) != (n % 5 == 0)  # a real counterexample: the candidate says Fizz for multiples of 5
    assert fb.summary.startswith(f"Counterexample: {example}")


async def test_a_correct_candidate_passes_within_the_example_bound():
    sandbox = Sandbox()
    try:
        [fb] = await run_checks("def fizzbuzz(n):\n    return 'Fizz' if n % 3 == 0 else str(n)\n",
                                task(max_examples=50), sandbox)
    finally:
        sandbox.close()
    assert fb.passed and fb.score == 1.0


def test_unknown_option_is_rejected():
    with pytest.raises(agentloop.TaskFileError, match=r"feedback\[0\].examples: unknown key"):
        Task.from_dict({"name": "t", "prompt": "p", "feedback": [{"kind": "property", "code": "x", "examples": 3}]})


def test_the_counterexample_appears_in_the_refiner_prompt(make_task, tmp_path):
    path = make_task({"solver": [WRONG], "critic": ["look at the counterexample"], "refiner": [GOOD_FIZZ]},
                     feedback=[{"kind": "property", "code": PROPERTY}])
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    solver, critic, refiner = result.graph.turns()
    example = solver.feedback[0].details["counterexamples"][0]
    assert example in "\n".join(m["content"] for m in refiner.messages)
    assert result.status == "solved"
