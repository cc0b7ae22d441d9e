"""``agentloop export``: training data from stored runs, one JSON object per line (SPEC §2).

- ``sft``: chat ``messages`` ending in a verified solution — the candidate passed every check,
  and the hidden tests where the task has them (only the run's submitted solution was scored on
  those, so in such runs only that candidate qualifies).
- ``dpo``: ``prompt``, ``chosen``, ``rejected`` — a verified candidate and a failing sibling or
  ancestor judged by the same checks; the prompt is the conversation both answer.
- ``critique``: task, candidate, its feedback, the critique, the refined candidate and whether
  the refinement improved the verdict — what feedback and edit models are trained on.

Each line follows ``agentloop/schemas/export-<format>.schema.json``; identical lines (ignoring
where they came from) are written once. Hidden tests never reach a line: lines are built from
the prompts the agents saw, which never contain them, and from the task's name and prompt only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.outfile import check_output, write_atomic
from ..errors import InputError
from ..store import RunRecord, Store
from ..store.graph import Turn, TurnGraph

FORMATS = ("sft", "dpo", "critique")
Line = dict[str, Any]


def schema(fmt: str) -> dict[str, Any]:
    """The published JSON schema of one line of ``fmt`` (shipped in the wheel)."""
    return json.loads(resources.files("agentloop").joinpath("schemas", f"export-{fmt}.schema.json").read_text("utf-8"))


def load_runs(run_ids: list[str], store: str | Path | None) -> list[tuple[RunRecord, TurnGraph]]:
    """The named runs (all runs, oldest first, when none are named) with their graphs of turns."""
    db = Store(store, create=False)
    try:
        records = [db.get_run(r) for r in run_ids] if run_ids else list(reversed(db.list_runs(limit=-1)))
        return [(record, TurnGraph.from_turns(db.turns(record.id))) for record in records]
    finally:
        db.close()


def verified(record: RunRecord, turn: Turn) -> bool:
    """True for a candidate that passed every check, and the hidden tests where the task has them."""
    if not turn.passed or turn.candidate is None:
        return False
    if not record.task.get("hidden_tests"):
        return True
    result = record.result or {}
    return bool((result.get("hidden_tests") or {}).get("passed")) and result.get("solution") == turn.candidate


def answer(record: RunRecord, code: str) -> str:
    """A candidate as the assistant reply that would produce it: a fenced block for code tasks."""
    task = record.task
    if task.get("output", "code") == "text":
        return code
    return f"```{task.get('language', 'python')}\n{code.rstrip()}\n```"


def _messages(turn: Turn) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in turn.messages]


def _origin(record: RunRecord, turn: Turn) -> Line:
    return {"run_id": record.id, "turn": turn.id}


def sft_lines(record: RunRecord, graph: TurnGraph, min_score: float) -> Iterator[Line]:
    """One conversation per verified candidate: its prompt, then the solution as the reply."""
    for turn in graph.candidates():
        if verified(record, turn) and turn.candidate is not None and (turn.score or 0.0) >= min_score and turn.messages:
            reply = {"role": "assistant", "content": answer(record, turn.candidate)}
            yield {"messages": [*_messages(turn), reply], "score": turn.score, "task": record.task_name,
                   **_origin(record, turn)}


def checks(turn: Turn) -> frozenset[str]:
    """The kinds of check that judged a candidate (advisory ones aside)."""
    return frozenset(f.kind for f in turn.feedback if not f.advisory)


def rivals(graph: TurnGraph, turn: Turn) -> list[Turn]:
    """Candidates derived from the same parents as ``turn`` (siblings), then its candidate ancestors."""
    siblings = [t for t in graph.candidates() if t.id != turn.id and set(t.parents) == set(turn.parents)]
    ancestors, frontier = {}, list(turn.parents)
    while frontier:
        parent = graph[frontier.pop()]
        if parent.id not in ancestors:
            ancestors[parent.id] = parent
            frontier.extend(parent.parents)
    older = sorted((t for t in ancestors.values() if t.produces_candidate), key=lambda t: t.seq)
    return siblings + older


def shared_prompt(a: list[dict[str, str]], b: list[dict[str, str]]) -> list[dict[str, str]] | None:
    """The longest common start of two conversations that ends with a user message, or None."""
    common = []
    for x, y in zip(a, b):
        if x != y:
            break
        common.append(x)
    while common and common[-1]["role"] != "user":
        common.pop()
    return common or None


def dpo_lines(record: RunRecord, graph: TurnGraph, min_score: float) -> Iterator[Line]:
    """Pairs of a verified candidate and a failing rival judged by the same checks."""
    for chosen in graph.candidates():
        if not verified(record, chosen) or chosen.candidate is None or (chosen.score or 0.0) < min_score:
            continue
        for rejected in rivals(graph, chosen):
            if rejected.passed or rejected.candidate is None or checks(rejected) != checks(chosen):
                continue
            if " ".join(rejected.candidate.split()) == " ".join(chosen.candidate.split()):
                continue  # the same code, differently spaced: no preference to learn
            prompt = shared_prompt(_messages(chosen), _messages(rejected))
            if prompt is None:
                continue
            yield {"prompt": prompt,
                   "chosen": [{"role": "assistant", "content": answer(record, chosen.candidate)}],
                   "rejected": [{"role": "assistant", "content": answer(record, rejected.candidate)}],
                   "score_chosen": chosen.score, "score_rejected": rejected.score, "task": record.task_name,
                   **_origin(record, chosen), "rejected_turn": rejected.id}


def critique_lines(record: RunRecord, graph: TurnGraph, min_score: float) -> Iterator[Line]:
    """One record per refined candidate that a critique led to."""
    task = record.task
    for refined in graph.candidates():
        critics = [graph[p] for p in refined.parents if graph[p].role == "critic"]
        if not critics or refined.candidate is None or (refined.score or 0.0) < min_score:
            continue
        critic = max(critics, key=lambda t: t.seq)  # the one the refinement answers
        before = next((graph[p] for p in critic.parents if graph[p].produces_candidate), None)
        if before is None or before.candidate is None:
            continue
        yield {"task": {"name": task["name"], "prompt": task["prompt"], "language": task.get("language", "python")},
               "candidate": before.candidate,
               "feedback": [{"kind": f.kind, "passed": f.passed, "score": f.score, "summary": f.summary,
                             "advisory": f.advisory} for f in before.feedback],
               "critique": critic.output, "refined": refined.candidate,
               "passed_before": before.passed, "passed_after": refined.passed,
               "score_before": before.score, "score_after": refined.score,
               "improved": refined.passed and not before.passed,
               **_origin(record, refined), "candidate_turn": before.id, "critique_turn": critic.id}


_BUILDERS = {"sft": sft_lines, "dpo": dpo_lines, "critique": critique_lines}
# where a line came from: left out when deciding whether two lines are the same example
_ORIGIN_KEYS = {"run_id", "turn", "rejected_turn", "candidate_turn", "critique_turn"}


def export_lines(fmt: str, runs: list[tuple[RunRecord, TurnGraph]], min_score: float = 0.0) -> list[Line]:
    """Every line of ``fmt`` from ``runs``, identical examples once (the first one found)."""
    seen, out = set(), []
    for record, graph in runs:
        for line in _BUILDERS[fmt](record, graph, min_score):
            key = json.dumps({k: v for k, v in line.items() if k not in _ORIGIN_KEYS}, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(line)
    return out


def export(fmt: str, run_ids: list[str], out: Path, *, store: str | Path | None = None,
           min_score: float | None = None) -> int:
    """Write ``fmt`` lines from the named runs (all runs when none) to ``out``; returns how many.

    Bad input (unknown format, missing folder, unknown run) raises before anything is written.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format: unknown format '{fmt}' (one of: {', '.join(FORMATS)})")
    check_output(out)
    lines = export_lines(fmt, load_runs(run_ids, store), min_score if min_score is not None else float("-inf"))
    write_atomic(out, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return len(lines)
