"""best_of_n: concurrent samples, selection by score, early stop, shared budget."""

from __future__ import annotations

import pytest
from faultserver import Drip, FaultServer
from helpers import BAD_FIZZ, GOOD_FIZZ

import agentloop
from agentloop import Task

pytest.importorskip("litellm", reason="the overlap test uses a litellm model against the fault server")

HALF = "```python\ndef fizzbuzz(n):\n    return 'Fizz' if n % 3 == 0 else str(n)\n```"
ZERO = "```python\ndef fizzbuzz(n):\n    return ''\n```"


def run(make_task, tmp_path, script, **params):
    path = make_task(script, strategy={"name": "best_of_n", **params})
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db", seed=0)


def test_picks_the_best_sample_by_score(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [ZERO, HALF, ZERO]}, n=3)
    assert result.turns == 3 and result.status == "unsolved" and result.stop_reason == "samples"
    assert all(t.role == "solver" and t.parents == () for t in result.graph.turns())
    assert "Fizz" in result.solution


def test_without_early_stop_all_samples_are_taken(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [GOOD_FIZZ, BAD_FIZZ, ZERO, HALF]}, n=4, early_stop=False)
    assert result.turns == 4 and result.status == "solved"


def test_early_stop_cancels_the_other_samples(make_task, tmp_path):
    slow = "```python\nimport time\ntime.sleep(5)\ndef fizzbuzz(n):\n    return str(n)\n```"
    result = run(make_task, tmp_path, {"solver": [GOOD_FIZZ, slow, slow, slow]}, n=4)
    assert result.status == "solved" and result.stop_reason == "solved"
    assert result.turns == 1 and result.seconds < 4  # the slow checks were killed, not awaited


def test_samples_share_the_turn_budget(make_task, tmp_path):
    path = make_task({"solver": [ZERO] * 6}, strategy={"name": "best_of_n", "n": 6}, budget={"max_turns": 2})
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    # all six start at once; turns in flight count against the limit, so only two ever run
    assert result.turns == 2 and result.status == "unsolved" and result.stop_reason == "budget:max_turns"


async def test_model_calls_overlap_in_time(tmp_path):
    with FaultServer() as server:
        server.script(*[Drip(interval=0.05, chunk=40)] * 4)
        task = Task.from_dict({"name": "t", "prompt": "p", "feedback": [{"kind": "compile"}],
                               "strategy": {"name": "best_of_n", "n": 4, "early_stop": False}})
        result = await agentloop.arun(task, f"litellm:openai/x?api_base={server.url}&api_key=none",
                                      store=tmp_path / "s.db")
        starts = sorted(r["_t"] for r in server.requests)
        assert len(starts) == 4 and result.turns == 4
        # each reply takes ~0.3 s to drip out; all four requests arrived before the first could finish
        assert starts[-1] - starts[0] < 0.25


def test_resume_replays_stored_turns_even_past_the_budget(make_task, tmp_path):
    import json
    import sqlite3

    path = make_task({"solver": [ZERO, HALF, ZERO]}, strategy={"name": "best_of_n", "n": 3, "early_stop": False},
                     budget={"max_tokens": 10_000}, sampling={"solver": {"max_tokens": 35}})
    first = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    assert first.turns == 3
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed before t3 was committed ...
        db.execute("DELETE FROM turns WHERE seq = 3")
        # ... and under a budget that t1 alone has spent (budgets are exact: no run can get there by itself)
        task = json.loads(db.execute("SELECT task_json FROM runs").fetchone()[0])
        task["budget"]["max_tokens"] = first.graph["t1"].usage.total
        db.execute("UPDATE runs SET status = 'running', result_json = NULL, task_json = ?", (json.dumps(task),))
    again = agentloop.resume(first.run_id, store=tmp_path / "s.db")
    # t1 and t2 come back from the store although t1 alone already spent the budget; t3 is refused
    assert [t.id for t in again.graph.turns()] == ["t1", "t2"] and again.stop_reason == "budget:max_tokens"
    assert "Fizz" in again.solution


def test_concurrent_samples_reserve_their_prompt_and_completion_tokens(make_task, tmp_path):
    # four samples start together: each holds its prompt plus its completion cap (or what is left,
    # if at least 16 tokens) while in flight, so only some are granted, instead of all four spending as if alone
    path = make_task({"solver": [ZERO] * 4}, strategy={"name": "best_of_n", "n": 4, "early_stop": False},
                     sampling={"solver": {"max_tokens": 300}}, budget={"max_tokens": 1000})
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    prompt, held, granted = result.graph["t1"].usage.prompt_tokens, 0, 0
    while 1000 - held - prompt >= 16:  # the rule, for these prompts: hold prompt + min(cap, what is left)
        held += prompt + min(300, 1000 - held - prompt)
        granted += 1
    assert granted < 4 and result.turns == granted and result.stop_reason == "budget:max_tokens"
