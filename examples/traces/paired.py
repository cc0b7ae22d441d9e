"""Refine with and without the `trace` feedback kind, on the same failing first candidates (issue 16, item 3).

Reads the store of ``examples/traces/sweep.yaml``: for every task, the run of each configuration
(``refine`` and ``refine_trace``). Both solve greedily (temperature 0) from the same prompt, so
their first candidate is the same program; the script checks that it is, per task. A task counts
when that first candidate failed the visible checks (so refinement happened). Its outcome per
configuration is whether the run's submission passes HumanEval's hidden ``check`` (1 or 0). The
table gives each configuration's success rate on those tasks with a 95% bootstrap interval over
tasks, and the paired difference (trace minus no trace, tasks resampled together).

    python examples/traces/paired.py STORE [--out examples/traces/summary.md]
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from agentloop.store import Store
from agentloop.sweep.stats import Bootstrap

WITH, WITHOUT = "refine_trace", "refine"


def outcomes(store_path: str) -> dict[str, dict[str, dict]]:
    """task -> configuration -> {first, first_passed, solved, traced, status} for every finished run."""
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT task_name, config, run_id FROM sweep_runs ORDER BY task_name").fetchall()
    store = Store(store_path, create=False)
    out: dict[str, dict[str, dict]] = {}
    try:
        for task, config, run_id in rows:
            record = store.get_run(run_id)
            if record.status not in ("solved", "unsolved"):
                continue
            turns = store.turns(run_id)
            first = next((t for t in turns if t.role == "solver"), None)
            refined = {p for t in turns for p in t.parents}  # turns a later turn (the refiner) was shown
            traced = sum(1 for t in turns if t.id in refined for f in t.feedback
                         if f.kind == "trace" and f.details.get("traces"))
            later = [t for t in turns if t.role == "refiner"]
            out.setdefault(task, {})[config] = {
                "first": first.candidate if first else None, "first_passed": bool(first and first.passed),
                "visible": any(t.passed for t in later),  # a refinement passed every visible check
                "changed": any(t.candidate is not None and first is not None and t.candidate != first.candidate
                               for t in later),
                "solved": bool(((record.result or {}).get("hidden_tests") or {}).get("passed")),
                "traced": traced, "candidates": sum(1 for t in turns if t.candidate is not None)}
    finally:
        store.close()
    return out


def report(store_path: str) -> str:
    """The comparison as markdown."""
    data = outcomes(store_path)
    both = {task: runs for task, runs in data.items() if WITH in runs and WITHOUT in runs}
    differ = sorted(task for task, runs in both.items() if runs[WITH]["first"] != runs[WITHOUT]["first"])
    failing = sorted((task for task, runs in both.items()
                      if task not in differ and not runs[WITHOUT]["first_passed"]), key=_order)
    lines = [f"Tasks with both runs finished: {len(both)}; first candidates identical in both: "
             f"{len(both) - len(differ)}{' (differ: ' + ', '.join(differ) + ')' if differ else ''}; "
             f"of those, first candidate failing the visible checks: {len(failing)}.", ""]
    if not failing:
        return "\n".join([*lines, "No task had a failing first candidate: nothing to compare."]) + "\n"
    boot = Bootstrap()
    with_trace = [float(both[t][WITH]["solved"]) for t in failing]
    without = [float(both[t][WITHOUT]["solved"]) for t in failing]
    traced = sum(1 for t in failing if both[t][WITH]["traced"])
    lines += ["| configuration | solved after refinement (hidden tests), of tasks whose first candidate failed | 95% CI |",
              "|---|---|---|",
              f"| refine (no trace) | {int(sum(without))} / {len(failing)} | {boot.mean(without).text()} |",
              f"| refine + trace | {int(sum(with_trace))} / {len(failing)} | {boot.mean(with_trace).text()} |",
              "",
              *_secondary(both, failing, boot),
              "",
              f"Paired difference in solved (trace minus no trace): "
              f"{boot.mean([a - b for a, b in zip(with_trace, without, strict=True)]).text()}; "
              f"tasks solved only with the trace: {sum(1 for a, b in zip(with_trace, without) if a > b)}, "
              f"only without: {sum(1 for a, b in zip(with_trace, without) if b > a)}.",
              f"Runs of refine + trace whose refiner was shown a trace: {traced} of {len(failing)} (the others failed "
              "before any call: a syntax error, an import error; the entry then says nothing was traced).",
              "", "| task | refine | refine + trace | traces shown to the refiner |", "|---|---|---|---|"]
    lines += [f"| {t} | {'solved' if both[t][WITHOUT]['solved'] else '-'} | {'solved' if both[t][WITH]['solved'] else '-'} "
              f"| {both[t][WITH]['traced']} |" for t in failing]
    return "\n".join(lines) + "\n"


def _secondary(both: dict, failing: list[str], boot: Bootstrap) -> list[str]:
    """Rows for what a weak model may still show: a refinement that passes the visible checks, or that changed the code."""
    rows = []
    for key, what in (("visible", "a refinement passes every visible check"),
                      ("changed", "the refiner changed the code (its candidate differs from the first)")):
        a = [float(both[t][WITHOUT][key]) for t in failing]
        b = [float(both[t][WITH][key]) for t in failing]
        diff = boot.mean([y - x for x, y in zip(a, b, strict=True)]).text()
        rows.append(f"| {what}: no trace {int(sum(a))}, trace {int(sum(b))} of {len(failing)} | "
                    f"paired difference {diff} |")
    return ["| secondary outcome (same tasks) | |", "|---|---|", *rows]


def _order(task: str) -> tuple:
    head, _, number = task.rpartition("_")
    return (head, int(number)) if number.isdigit() else (task, 0)


def main() -> None:
    """Print (or write) the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--out")
    args = parser.parse_args()
    text = report(args.store)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text, end="")


if __name__ == "__main__":
    main()
