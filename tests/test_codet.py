"""codet: candidates ranked by agreement with model-written tests, which never override the task's checks."""

from __future__ import annotations

import json

from helpers import GOOD_FIZZ

import agentloop
from agentloop import Task

OFF_BY_BUZZ = "```python\ndef fizzbuzz(n):\n    return 'Fizz' if n % 3 == 0 else str(n)\n```"
TESTS_A = "```python\nfrom solution import fizzbuzz\ndef test_3(): assert fizzbuzz(3) == 'Fizz'\ndef test_5(): assert fizzbuzz(5) == 'Buzz'\n```"
TESTS_B = "```python\nfrom solution import fizzbuzz\ndef test_15(): assert fizzbuzz(15) == 'FizzBuzz'\ndef test_1(): assert fizzbuzz(1) == '1'\n```"
HIDDEN = "from solution import fizzbuzz\ndef test_h(): assert [fizzbuzz(i) for i in (3, 5, 15, 7)] == ['Fizz', 'Buzz', 'FizzBuzz', '7']\n"


def run(make_task, tmp_path, solver):
    # the only visible check compiles: without CodeT nothing tells these candidates apart
    path = make_task({"solver": solver, "tester": [TESTS_A, TESTS_B]}, feedback=[{"kind": "compile"}],
                     hidden_tests=HIDDEN, strategy={"name": "codet", "n": 3, "testers": 2})
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


def test_the_consensus_pick_wins_and_the_table_is_labelled_model_written(make_task, tmp_path):
    result = run(make_task, tmp_path, [OFF_BY_BUZZ, GOOD_FIZZ, GOOD_FIZZ])
    note = next(t for t in result.graph.turns() if t.role == "codet")
    details = note.feedback[0].details
    assert details["model_written_tests"] is True and note.model == "agentloop:codet"
    good_ids = [t.id for t in result.graph.turns() if t.candidate and "FizzBuzz" in t.candidate]
    assert details["chosen"] in good_ids
    top = max(details["agreement"], key=lambda row: row["consensus"])
    assert sorted(top["candidates"]) == sorted(good_ids) and top["consensus"] == 2 * 4
    assert result.solution == GOOD_FIZZ.split("\n", 1)[1].rsplit("```", 1)[0]
    assert result.hidden_tests["passed"] is True and result.status == "solved"
    assert json.loads(note.output.split("\n", 1)[1]) == details["agreement"]


def test_generated_tests_never_override_the_tasks_own_checks(make_task, tmp_path):
    path = make_task({"solver": [OFF_BY_BUZZ, OFF_BY_BUZZ, GOOD_FIZZ], "tester": [
        "```python\nfrom solution import fizzbuzz\ndef test_wrong(): assert fizzbuzz(5) == '5'\n```", TESTS_A]},
        strategy={"name": "codet", "n": 3, "testers": 2})  # the task's own tests: FIZZ_TESTS
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    note = next(t for t in result.graph.turns() if t.role == "codet")
    # two wrong candidates agree with each other and with a wrong generated test, but the task's tests decide
    assert result.graph[note.feedback[0].details["chosen"]].passed
    assert result.status == "solved"


def test_codet_replays_its_stored_choice_on_resume(make_task, tmp_path):
    import sqlite3

    first = run(make_task, tmp_path, [OFF_BY_BUZZ, GOOD_FIZZ, GOOD_FIZZ])
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed after the last turn was committed
        db.execute("UPDATE runs SET status = 'running', result_json = NULL")
    again = agentloop.resume(first.run_id, store=tmp_path / "s.db")
    assert again.solution == first.solution and again.turns == first.turns  # replayed, nothing recomputed twice
