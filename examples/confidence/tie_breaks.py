"""Every selection rule applied to the same stored candidates of a sweep: which submission passes HumanEval's tests?

For each run of the sweep (one task, N samples, every candidate scored on the hidden tests), the
candidates the visible checks rank best are *tied*; a rule picks one of them:

- ``latest``: the graph's own rule (the latest of the best), agentloop's default;
- ``random``: the expected pass rate of a uniform pick among the tied (what any rule that ignores
  the candidates' content would get on average);
- ``mean_logprob``, ``lowest_group``, ``self_certainty``: the most confident tied candidate
  (``tie_break`` in best_of_n and tree, agentloop/strategies/selection.py);
- ``MEASURE, no checks``: the most confident of *all* candidates, the visible checks ignored
  (confidence as the only selector, as for a task without checks; Kang et al. 2025);
- ``oracle``: some candidate passes (coverage: the ceiling of any selection).

Pass rates come with 95% bootstrap intervals over tasks, and each confidence rule's paired
difference to ``random`` and to ``latest`` (same tasks, same candidates, resampled together).

    python examples/confidence/tie_breaks.py STORE [--out examples/confidence/results.md]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

from agentloop.store import Store
from agentloop.strategies.selection import most_confident
from agentloop.sweep.stats import Bootstrap

MEASURES = ("mean_logprob", "lowest_group", "self_certainty")
BLIND = tuple(f"{m}, no checks" for m in MEASURES)
RULES = ("latest", "random", *MEASURES, *BLIND, "oracle")


def runs(store_path: str) -> list[tuple[str, list, dict[str, bool]]]:
    """(task, candidate turns, hidden verdict per turn id) for every scored run, in task order."""
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT task_name, run_id, hidden_json FROM sweep_runs WHERE hidden_json IS NOT NULL "
                          "ORDER BY task_name, seed").fetchall()
    store = Store(store_path, create=False)
    try:
        return [(task, [t for t in store.turns(run_id) if t.candidate is not None], json.loads(hidden))
                for task, run_id, hidden in rows]
    finally:
        store.close()


def outcome(rule: str, candidates: list, hidden: dict[str, bool]) -> float:
    """1.0 / 0.0 for the rule's pick (``random``: the share of the tied that pass; no candidate: 0)."""
    if not candidates:
        return 0.0
    if rule == "oracle":
        return float(any(hidden.get(t.id, False) for t in candidates))
    if rule in BLIND:
        pick = most_confident(candidates, rule.split(",")[0]) or max(candidates, key=lambda t: t.seq)
        return float(hidden.get(pick.id, False))
    top = max((t.passed, t.score or 0.0) for t in candidates)
    tied = [t for t in candidates if (t.passed, t.score or 0.0) == top]
    if rule == "random":
        return sum(hidden.get(t.id, False) for t in tied) / len(tied)
    pick = (most_confident(tied, rule) if rule in MEASURES else None) or max(tied, key=lambda t: t.seq)
    return float(hidden.get(pick.id, False))


def report(store_path: str) -> str:
    """The results as markdown."""
    data = runs(store_path)
    boot = Bootstrap()
    per_rule = {rule: [outcome(rule, cands, hidden) for _, cands, hidden in data] for rule in RULES}
    tied_mixed = sum(1 for _, cands, hidden in data if _mixed(cands, hidden))
    lines = [f"Tasks: {len(data)}; candidates: {sum(len(c) for _, c, _ in data)}; tasks whose tied best candidates "
             f"disagree on the hidden tests (the only ones where a tie-break can matter): {tied_mixed}", "",
             "| rule | pass rate, 95% CI | paired difference to random | paired difference to latest |", "|---|---|---|---|"]
    for rule in RULES:
        rate = boot.mean(per_rule[rule]).text()
        diffs = [boot.mean([a - b for a, b in zip(per_rule[rule], per_rule[base], strict=True)]).text()
                 if rule != base else "—" for base in ("random", "latest")]
        lines.append(f"| {rule} | {rate} | {diffs[0]} | {diffs[1]} |")
    return "\n".join(lines) + "\n"


def _mixed(candidates: list, hidden: dict[str, bool]) -> bool:
    if not candidates:
        return False
    top = max((t.passed, t.score or 0.0) for t in candidates)
    verdicts = {hidden.get(t.id, False) for t in candidates if (t.passed, t.score or 0.0) == top}
    return len(verdicts) == 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    text = report(args.store)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
