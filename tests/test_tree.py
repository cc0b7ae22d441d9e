"""tree: beam and UCT search over refinements; the highest-valued node is expanded first."""

from __future__ import annotations

import pytest
from helpers import GOOD_FIZZ

import agentloop
from agentloop import Task

THIRD = "```python\ndef fizzbuzz(n):\n    return str(n)\n```"  # passes test_seven only
TWO_THIRDS = "```python\ndef fizzbuzz(n):\n    return 'Fizz' if n % 3 == 0 else str(n)\n```"
ZERO = "```python\ndef fizzbuzz(n):\n    return ''\n```"
TESTS = ('from solution import fizzbuzz\ndef test_three(): assert fizzbuzz(3) == "Fizz"\n'
         'def test_five(): assert fizzbuzz(5) == "Buzz"\ndef test_seven(): assert fizzbuzz(7) == "7"\n')


def run(make_task, tmp_path, script, **params):
    path = make_task(script, feedback=[{"kind": "tests", "code": TESTS}], strategy={"name": "tree", **params})
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


@pytest.mark.parametrize("mode", ["beam", "uct"])
def test_the_highest_valued_node_is_expanded_first(make_task, tmp_path, mode):
    script = {"solver": [THIRD, TWO_THIRDS], "critic": ["c1", "c2"], "refiner": [ZERO, GOOD_FIZZ, ZERO, ZERO]}
    result = run(make_task, tmp_path, script, mode=mode, initial=2, width=2, beam=1)
    turns = result.graph.turns()
    t1, t2 = turns[0], turns[1]
    assert (t1.score, t2.score) == pytest.approx((1 / 3, 2 / 3), abs=1e-3)
    first_critic = next(t for t in turns if t.role == "critic")
    assert first_critic.parents == (t2.id,)  # the 2/3 node, not the earlier 1/3 one
    refiners = [t for t in turns if t.role == "refiner"]
    assert len(refiners) == 2 and all(r.parents == (t2.id, first_critic.id) for r in refiners)
    assert result.status == "solved"


def test_beam_keeps_the_best_nodes_of_each_level(make_task, tmp_path):
    script = {"solver": [ZERO, ZERO], "critic": ["c"] * 6, "refiner": [THIRD, TWO_THIRDS, ZERO, ZERO, ZERO, ZERO]}
    result = run(make_task, tmp_path, script, mode="beam", initial=2, width=2, beam=1, depth=2)
    turns = result.graph.turns()
    level1 = [t for t in turns if t.role == "refiner"][:2]
    second_critic = [t for t in turns if t.role == "critic"][1]
    best_level1 = max(level1, key=lambda t: t.score)
    assert second_critic.parents == (best_level1.id,)
    assert result.status == "unsolved" and result.stop_reason == "max_depth"


def test_uct_backs_values_up_and_explores_the_other_branch(make_task, tmp_path):
    # the 2/3 root's children are worse than the 1/3 root: after one expansion UCT switches branch
    script = {"solver": [THIRD, TWO_THIRDS], "critic": ["c1", "c2", "c3"],
              "refiner": [ZERO, ZERO, ZERO, ZERO, ZERO, ZERO]}
    result = run(make_task, tmp_path, script, mode="uct", initial=2, width=2, iterations=2, exploration=1.0)
    critics = [t for t in result.graph.turns() if t.role == "critic"]
    assert [c.parents for c in critics[:2]] == [("t2",), ("t1",)]
    assert result.stop_reason == "iterations"
