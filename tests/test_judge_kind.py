"""The `judge` feedback kind: a structured LLM score that weighs in but never turns a failure into a pass."""

from __future__ import annotations

import pytest
from helpers import BAD_FIZZ, FIZZ_TESTS, GOOD_FIZZ

import agentloop
from agentloop import Task

JUDGE = {"kind": "judge", "rubric": "Readable, no needless branches.", "weight": 0.5}


def run(make_task, tmp_path, script, **kw):
    path = make_task(script, feedback=[{"kind": "tests", "code": FIZZ_TESTS}, JUDGE], **kw)
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


def test_judge_score_enters_the_weighted_score_and_its_calls_the_turn_usage(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [GOOD_FIZZ], "judge": ['{"score": 0.6, "rationale": "fine"}']})
    [turn] = result.graph.turns()
    tests, judge = turn.feedback
    assert judge.kind == "judge" and judge.passed and judge.score == 0.6 and "fine" in judge.summary
    assert turn.score == pytest.approx((1.0 * 1 + 0.6 * 0.5) / 1.5, abs=1e-3)
    assert turn.usage.prompt_tokens > 2 * len(GOOD_FIZZ) // 4  # the judge's prompt is counted too
    assert result.status == "solved"


def test_a_perfect_judge_score_cannot_rescue_a_failing_test(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [BAD_FIZZ], "judge": ['{"score": 1.0, "rationale": "perfect"}']},
                 strategy={"name": "refine", "max_turns": 1})
    [turn] = result.graph.turns()
    assert turn.feedback[1].passed and not turn.feedback[0].passed
    assert not turn.passed and result.status == "unsolved"


def test_the_judge_sees_the_execution_results(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [BAD_FIZZ], "judge": ['{"score": 0.1, "rationale": "fails"}']},
                 strategy={"name": "refine", "max_turns": 1})
    judge = result.graph.turns()[0].feedback[1]
    prompt = judge.details["prompt"][-1]["content"]
    assert "[tests: FAILED]" in prompt and "assert '5' == 'Buzz'" in prompt and "no needless branches" in prompt
    assert judge.score == 0.1


def test_invalid_verdict_gets_one_reask_then_fails_the_check(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [GOOD_FIZZ], "judge": ["great code!", '{"score": 2}']},
                 strategy={"name": "refine", "max_turns": 1})
    judge = result.graph.turns()[0].feedback[1]
    assert not judge.passed and "after one re-ask" in judge.summary and result.status == "unsolved"


def test_pass_score_makes_a_low_judgement_fail(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ], "judge": ['{"score": 0.3, "rationale": "too clever"}']},
                     feedback=[{"kind": "judge", "rubric": "r", "pass_score": 0.5}], strategy={"name": "refine", "max_turns": 1})
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    assert not result.graph.turns()[0].feedback[0].passed and result.status == "unsolved"


def test_a_failing_judge_model_fails_the_check_not_the_run(make_task, tmp_path):
    result = run(make_task, tmp_path, {"solver": [GOOD_FIZZ], "judge": []}, strategy={"name": "refine", "max_turns": 1})
    judge = result.graph.turns()[0].feedback[1]
    assert not judge.passed and "judge model failed" in judge.summary and "ran out of replies" in judge.summary
    assert result.status == "unsolved" and result.error is None


def test_resume_skips_the_judge_replies_that_stored_turns_used(make_task, tmp_path):
    import sqlite3

    script = {"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ],
              "judge": ['{"score": 0.1, "rationale": "j1"}', '{"score": 0.7, "rationale": "j2"}']}
    first = run(make_task, tmp_path, script, strategy={"name": "refine", "max_turns": 2})
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed before t3 was committed
        db.execute("DELETE FROM turns WHERE seq = 3")
        db.execute("UPDATE runs SET status = 'running', result_json = NULL")
    again = agentloop.resume(first.run_id, store=tmp_path / "s.db")
    t3 = again.graph["t3"]
    assert t3.feedback[1].details["rationale"] == "j2"  # not j1 again: t1's judge call was skipped
    assert again.status == "solved"
