"""magicore: easy problems are aggregated from samples; hard ones get targeted refinement."""

from __future__ import annotations

from helpers import BAD_FIZZ, GOOD_FIZZ

import agentloop
from agentloop import Task

ALT_GOOD = GOOD_FIZZ.replace('    if n % 15 == 0:\n        return "FizzBuzz"\n',
                             '    if n % 3 == 0 and n % 5 == 0:\n        return "FizzBuzz"\n')
ZERO = "```python\ndef fizzbuzz(n):\n    return ''\n```"


def run(make_task, tmp_path, script, **params):
    path = make_task(script, strategy={"name": "magicore", **params})
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


def test_easy_problem_is_aggregated_by_majority_without_refinement(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [ALT_GOOD, GOOD_FIZZ, GOOD_FIZZ, BAD_FIZZ]}, samples=4)
    assert result.stop_reason == "easy" and result.status == "solved"
    assert {t.role for t in result.graph.turns()} == {"solver"}
    assert "n % 15 == 0" in result.solution  # the majority's version, not the first passing sample


def test_hard_problem_refines_the_most_promising_sample_first(make_task, tmp_path):
    script = {"solver": [ZERO, BAD_FIZZ, ZERO, ZERO], "critic": ["review"], "refiner": [GOOD_FIZZ]}
    result = run(make_task, tmp_path, script, samples=4, focus=2, rounds=2)
    turns = result.graph.turns()
    review = next(t for t in turns if t.role == "critic")
    assert result.graph[review.parents[0]].candidate.startswith("def fizzbuzz(n):\n    if n % 3")  # BAD_FIZZ scored best
    assert result.status == "solved" and result.stop_reason == "solved"
