"""The refine loop on the real orchestrator, sandbox and store, driven by ScriptedModel."""

from __future__ import annotations

import json

import pytest
from helpers import BAD_FIZZ, FIZZ_HIDDEN, GOOD_FIZZ, HIDDEN_MARKER

import agentloop
from agentloop import Task


def run(task_path, tmp_path, **kw):
    task = Task.from_yaml(task_path, overrides=kw.pop("overrides", ()))
    return agentloop.run(task, store=tmp_path / "store.db", **kw)


def test_stops_as_soon_as_every_check_passes(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ], "critic": ["unused"], "refiner": [BAD_FIZZ]})
    result = run(path, tmp_path)
    assert result.status == "solved" and result.stop_reason == "solved"
    assert [t.role for t in result.graph.turns()] == ["solver"]
    assert "FizzBuzz" in result.solution


def test_refines_a_failing_candidate_into_a_passing_one(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["fizzbuzz(5) must be Buzz"], "refiner": [GOOD_FIZZ]})
    result = run(path, tmp_path)
    turns = result.graph.turns()
    assert [t.role for t in turns] == ["solver", "critic", "refiner"]
    assert turns[1].parents == ("t1",) and turns[2].parents == ("t1", "t2")
    assert not turns[0].passed and turns[2].passed
    assert result.status == "solved" and result.score == 1.0


def test_failing_assertion_and_critique_reach_the_refiner_prompt(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["CRITIQUE-TEXT-42"], "refiner": [GOOD_FIZZ]})
    turns = run(path, tmp_path).graph.turns()
    critic_prompt, refiner_prompt = ("\n".join(m["content"] for m in t.messages) for t in turns[1:3])
    for prompt in (critic_prompt, refiner_prompt):
        assert "FAILED test_five" in prompt and "assert '5' == 'Buzz'" in prompt
        assert 'return "Fizz"' in prompt  # the candidate under review
    assert "CRITIQUE-TEXT-42" in refiner_prompt


def test_critic_and_refiner_continue_the_conversation_so_prefixes_are_shared(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c1", "c2"], "refiner": [BAD_FIZZ, GOOD_FIZZ]})
    turns = run(path, tmp_path).graph.turns()
    assert [t.role for t in turns] == ["solver", "critic", "refiner", "critic", "refiner"]
    for earlier, later in zip(turns, turns[1:]):
        # each prompt is the previous prompt, its reply, and one new user message
        assert list(later.messages[: len(earlier.messages)]) == list(earlier.messages)
        assert later.messages[len(earlier.messages)] == {"role": "assistant", "content": earlier.output}
        assert later.messages[-1]["role"] == "user"
    assert [m["role"] for m in turns[-1].messages] == ["system"] + ["user", "assistant"] * 4 + ["user"]


def test_a_task_prompt_with_a_system_block_gives_the_role_a_fresh_context(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]})
    (path.parent / "prompts").mkdir()
    (path.parent / "prompts" / "critic.j2").write_text(
        "{% block system %}You review code.{% endblock %}{% block user %}Code:\n{{ candidate }}{% endblock %}")
    turns = run(path, tmp_path).graph.turns()
    assert [m["role"] for m in turns[1].messages] == ["system", "user"]
    assert turns[1].messages[1]["content"].startswith("Code:\ndef fizzbuzz")


def test_stops_at_max_turns_unsolved_with_the_best_candidate(make_task, tmp_path):
    half = BAD_FIZZ
    worse = "```python\ndef fizzbuzz(n):\n    return ''\n```"
    path = make_task({"solver": [half], "critic": ["a", "b"], "refiner": [worse, worse]})
    result = run(path, tmp_path)
    assert result.status == "unsolved" and result.stop_reason == "max_turns"
    assert sum(t.role in ("solver", "refiner") for t in result.graph.turns()) == 3
    assert result.solution == result.graph["t1"].candidate  # the best, not the last


def test_hidden_tests_are_scored_but_never_rendered(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]}, hidden_tests=FIZZ_HIDDEN)
    result = run(path, tmp_path)
    assert result.hidden_tests["passed"] is True and result.status == "solved"
    for turn in result.graph.turns():
        assert HIDDEN_MARKER not in json.dumps(turn.to_dict())


def test_failing_hidden_tests_make_the_run_unsolved(make_task, tmp_path):
    visible_only = "```python\ndef fizzbuzz(n):\n    return {3: 'Fizz', 5: 'Buzz'}.get(n, str(n))\n```"
    path = make_task({"solver": [visible_only]}, hidden_tests=FIZZ_HIDDEN)
    result = run(path, tmp_path)
    assert result.graph.best().passed
    assert result.hidden_tests == {"passed": False, "score": 0.0, "summary": result.hidden_tests["summary"]}
    assert result.status == "unsolved"


@pytest.mark.parametrize("budget, reason, max_turns_taken", [
    ({"max_turns": 2}, "budget:max_turns", 2),
    ({"max_tokens": 200}, "budget:max_tokens", 2),
])
def test_budget_limits_stop_the_run_cleanly(make_task, tmp_path, budget, reason, max_turns_taken):
    script = {"solver": [BAD_FIZZ], "critic": ["c"] * 5, "refiner": [BAD_FIZZ] * 5}
    path = make_task(script, budget=budget, strategy={"name": "refine", "max_turns": 6})
    result = run(path, tmp_path)
    assert result.status == "unsolved" and result.stop_reason == reason
    assert result.turns <= max_turns_taken
    if "max_tokens" in budget:
        # the call that crossed the limit was capped to what was left; nothing started after it
        assert result.tokens.prompt_tokens + result.tokens.completion_tokens < 200 + 300


def test_seconds_budget_stops_a_run_whose_checks_are_slow(make_task, tmp_path):
    slow = "```python\nimport time\ndef fizzbuzz(n):\n    time.sleep(0.6)\n    return str(n)\n```"
    script = {"solver": [slow], "critic": ["c"] * 5, "refiner": [slow] * 5}
    path = make_task(script, budget={"max_seconds": 1.5}, strategy={"name": "refine", "max_turns": 6})
    result = run(path, tmp_path)
    assert result.status == "unsolved" and result.stop_reason == "budget:max_seconds"
    assert result.seconds < 1.5 + 2.0


def test_scripted_role_running_out_ends_the_run_with_error(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": []})
    result = run(path, tmp_path)
    assert result.status == "error"
    assert "role 'refiner' ran out of replies" in result.error
    assert result.turns == 2  # the finished turns are kept: the run can be resumed


def test_unparseable_reply_becomes_parse_feedback(make_task, tmp_path):
    path = make_task({"solver": ["I am sorry, I cannot write code."], "critic": ["write code"], "refiner": [GOOD_FIZZ]})
    turns = run(path, tmp_path).graph.turns()
    assert turns[0].candidate is None
    assert [(f.kind, f.passed) for f in turns[0].feedback] == [("parse", False)]
    assert "No code block" in turns[1].messages[-1]["content"]
    assert turns[2].passed


def test_a_plain_list_script_is_shared_by_every_role(make_task, tmp_path):
    path = make_task([BAD_FIZZ, "critique", GOOD_FIZZ])
    result = run(path, tmp_path)
    assert [t.role for t in result.graph.turns()] == ["solver", "critic", "refiner"]
    assert result.graph["t2"].output == "critique" and result.status == "solved"


def test_every_turn_is_in_the_store(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]})
    result = run(path, tmp_path)
    record, stored, graph = agentloop.load_run(result.run_id, store=tmp_path / "store.db")
    assert record["status"] == "solved"
    assert [t.to_dict() for t in graph.turns()] == [t.to_dict() for t in result.graph.turns()]
    assert stored.to_json() == result.to_json()


async def test_arun_is_the_async_entry_point(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    result = await agentloop.arun(Task.from_yaml(path), store=tmp_path / "s.db")
    assert result.solved


def test_reject_repeats_skips_the_checks_and_says_so(make_task, tmp_path):
    slow_bad = BAD_FIZZ.replace("def fizzbuzz", "import time\ntime.sleep(1)\ndef fizzbuzz")
    path = make_task({"solver": [slow_bad], "critic": ["c1", "c2"], "refiner": [slow_bad + "\n", GOOD_FIZZ]},
                     strategy={"name": "refine", "max_turns": 3, "reject_repeats": True})
    turns = run(path, tmp_path).graph.turns()
    repeat = turns[2]
    assert [(f.kind, f.passed) for f in repeat.feedback] == [("repeat", False)]
    assert "same as the code of turn t1" in repeat.feedback[0].summary
    assert turns[-1].passed


def test_temperature_escalates_per_refinement(make_task, tmp_path):
    from faultserver import FaultServer, Ok

    with FaultServer() as server:
        server.script(*[Ok(content=BAD_FIZZ if i % 2 == 0 else "crit") for i in range(5)])
        path = make_task(None, strategy={"name": "refine", "max_turns": 3, "temperature_step": 0.3},
                         models={"default": f"litellm:openai/x?api_base={server.url}&api_key=none"})
        run(path, tmp_path)
        temps = [r["temperature"] for r in server.requests]
    assert temps == pytest.approx([0.2, 0.2, 0.5, 0.2, 0.8])  # solver, critic, refiner, critic, refiner


def test_fresh_refiner_sees_only_task_code_and_latest_feedback(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["CRIT"], "refiner": [GOOD_FIZZ]},
                     strategy={"name": "refine", "max_turns": 2, "fresh_refiner": True})
    refiner = run(path, tmp_path).graph.turns()[2]
    assert [m["role"] for m in refiner.messages] == ["system", "user"]
    prompt = refiner.messages[1]["content"]
    assert "FAILED test_five" in prompt and 'return "Fizz"' in prompt and "CRIT" in prompt


def test_refine_without_a_critic(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "refiner": [GOOD_FIZZ]}, strategy={"name": "refine", "critic": False})
    result = run(path, tmp_path)
    assert [t.role for t in result.graph.turns()] == ["solver", "refiner"] and result.status == "solved"
    assert "I ran the checks on your code" in result.graph["t2"].messages[-1]["content"]


def test_reflexion_attempts_read_the_memory_of_reflections(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ, BAD_FIZZ, GOOD_FIZZ], "critic": ["LESSON-ONE", "LESSON-TWO"]},
                     strategy={"name": "reflexion", "max_attempts": 3})
    result = run(path, tmp_path)
    turns = result.graph.turns()
    assert [t.role for t in turns] == ["solver", "critic", "solver", "critic", "solver"]
    last = turns[-1]
    assert last.parents == ("t2", "t4") and [m["role"] for m in last.messages] == ["system", "user"]
    assert "LESSON-ONE" in last.messages[1]["content"] and "LESSON-TWO" in last.messages[1]["content"]
    assert result.status == "solved" and result.stop_reason == "solved"


def test_tester_tests_are_advisory_shown_but_never_counted(make_task, tmp_path):
    wrong_test = "```python\nfrom solution import fizzbuzz\ndef test_wrong(): assert fizzbuzz(5) == '5'\n```"
    path = make_task({"tester": [wrong_test], "solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]},
                     strategy={"name": "refine", "max_turns": 2, "tester": True})
    result = run(path, tmp_path)
    tester, solver, critic, refiner = result.graph.turns()
    assert tester.role == "tester"
    advisory = refiner.feedback[-1]
    assert advisory.kind == "model_tests" and advisory.advisory and advisory.details["model_written"]
    assert not advisory.passed  # the correct code fails the wrong model-written test...
    assert refiner.passed and refiner.score == 1.0 and result.status == "solved"  # ...which does not count
    assert "model-written tests, advisory" in "\n".join(m["content"] for m in critic.messages)
