"""Selection by disagreement (S*): model-written inputs separate candidates the visible checks cannot.

S* (Li et al. 2025, arXiv 2502.14382, "S*: Test Time Scaling for Code Generation") picks among
candidates by generating inputs on which they differ and running them. Here it is the
``tie_break: disagreement`` of ``best_of_n`` and ``tree``: among the candidates that pass every
visible check (or, for a task without checks, all of them), if at least two are different programs,

1. a ``tester`` turn (``prompts/disagreement.j2``, through ``RunContext.turn``, so its tokens count
   against the budget) sees up to ``SHOWN`` of them and writes calls of the entry point that
   should separate them; only lines that hold a call of the entry point on Python literals are
   kept (at most ``MAX_INPUTS``, each at most ``parsing.CALL_CHARS`` characters);
2. the sandbox runs every distinct tied program on those calls through the ``outputs`` feedback
   kind (``tools/outputs.py``): behind the solution boundary, with the task's timeout and memory
   limit, each outcome written down as bounded text by a fixed evaluator, never compared as the
   candidate's own objects;
3. candidates are grouped by identical output vectors and the largest group wins (a candidate whose
   run gave no outputs, or an outcome that is not data, takes no part) (majority, as
   S*'s fallback when no judge is asked); among equally large groups, and within the winning
   group, the graph's own pick stays if it is there, else the latest candidate.

The selection is stored as one ``disagreement`` note (``RunContext.note``) holding the inputs, the groups
and the winner, labelled ``selected_by: model-written inputs``; the submission is made with
``RunContext.choose``, which refuses anything worse on the visible checks, so a failing candidate never
wins. A tester reply with no usable call, or candidates none of which gave outputs, is recorded
in the note and the default pick stands. S*'s LLM judge between the top groups is not built.
"""

from __future__ import annotations

import ast
import asyncio
import json
from typing import TYPE_CHECKING, Any

from ..core.parsing import CALL_CHARS, fenced_blocks, literal_call
from ..engine.budget import BudgetExhausted
from ..task import FeedbackSpec
from . import TaskMismatch

if TYPE_CHECKING:
    from ..checks import Feedback
    from ..engine.context import RunContext
    from ..store.graph import Turn
    from ..task import Task

SELECTED_BY = "model-written inputs"
MAX_INPUTS = 8  # calls kept from the tester's reply
SHOWN = 4  # programs shown to the tester (all tied programs are run)
SCAN_CHARS = 20_000  # of the tester's reply, read for calls
OUTPUT_CHARS = 300  # each outcome, as text
PARALLEL = 4  # sandbox runs at once (a tree's tie can hold many candidates)


def check_task(tie_break: str, task: Task) -> None:
    """``disagreement`` calls the entry point of a Python candidate: the task must have both."""
    if tie_break == "disagreement" and (task.language != "python" or not task.entry_point or task.output != "code"):
        raise TaskMismatch("tie_break", "disagreement runs the entry point of Python code: the task needs "
                                        "language python, output code and an entry_point")


def parse_inputs(text: str, entry_point: str) -> tuple[list[str], int]:
    """The distinct calls of ``entry_point`` on literals in ``text`` (its code blocks, if it has any),
    at most ``MAX_INPUTS``, and how many non-empty lines held none.

    A line may hold the call alone, or inside ``assert``/``print``/an assignment: the first call of
    ``entry_point`` in it is taken (``assert f(1) == 2`` gives ``f(1)``).
    """
    text = text[:SCAN_CHARS]
    blocks = [body for _, body in fenced_blocks(text)]
    lines = [line.strip() for block in (blocks or [text]) for line in block.splitlines()]
    calls: list[str] = []
    rejected = 0
    for line in lines:
        if not line or line.startswith(("#", "from ", "import ")):
            continue
        call = _first_call(line, entry_point) if len(line) <= 4 * CALL_CHARS else None
        call = literal_call(call) if call is not None else None
        if call is None:
            rejected += 1
        elif call not in calls and len(calls) < MAX_INPUTS:
            calls.append(call)
    return calls, rejected


def _first_call(line: str, entry_point: str) -> str | None:
    try:
        tree = ast.parse(line)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point:
            return ast.unparse(node)
    return None


async def select(run: RunContext) -> None:
    """Break the tie among the best candidates by the majority of outputs on model-written inputs."""
    best = run.graph.best()
    if best is None or not (best.passed or not run.task.feedback):
        # candidates that all fail a visible check are known wrong: a vote among them spends a tester turn to
        # choose between broken programs (on HumanEval/15 three that returned None outvoted one that did not)
        return
    candidates = [t for t in run.graph.tied() if t.candidate is not None]
    programs: dict[str, Turn] = {}  # one sandbox run per distinct program (up to whitespace)
    for turn in candidates:
        programs.setdefault(" ".join(str(turn.candidate).split()), turn)
    if len(programs) < 2:
        return  # nothing to separate
    shown = list(programs.values())[:SHOWN]
    try:
        tester = await run.turn("tester", parents=shown, template="disagreement")
    except BudgetExhausted:
        return  # no tester turn: the default pick stands (a note here would not replay as a tester turn)
    default = best  # the graph's own pick: the latest of the best
    calls, rejected = parse_inputs(tester.output, run.task.entry_point or "")  # set: check_task requires one
    details: dict[str, Any] = {"selected_by": SELECTED_BY, "model_written_inputs": True, "tester": tester.id,
                               "inputs": calls, "lines_rejected": rejected, "default": default.id}
    if not calls:
        _record(run, candidates, tester, {**details, "error": f"the tester wrote no call of {run.task.entry_point}"
                                          " on literal arguments", "groups": [], "chosen": default.id})
        return
    spec = FeedbackSpec(kind="outputs", calls=calls, output_chars=OUTPUT_CHARS)
    gate = asyncio.Semaphore(PARALLEL)

    async def outputs(code: str) -> Feedback:
        async with gate:
            return await run.run_tests(code, spec)

    results = await asyncio.gather(*(outputs(p.candidate) for p in programs.values() if p.candidate is not None))
    # a run with no outputs (timeout, crash) or with an outcome that is not data (an object the boundary would not
    # let through, a process that died) takes no part in the vote: "not plain data" is no answer to agree on
    runs = dict(zip(programs, results))
    groups: dict[tuple[str, ...], list[Turn]] = {}
    silent = []
    for turn in candidates:
        fb = runs[" ".join(str(turn.candidate).split())]
        vector = fb.details.get("outputs")
        if vector is None or fb.details.get("not_data"):
            silent.append({"candidate": turn.id, "outputs": vector})
        else:
            groups.setdefault(tuple(vector), []).append(turn)
    table = [{"candidates": [t.id for t in members], "outputs": list(vector)} for vector, members in groups.items()]
    details.update(groups=table, no_outputs=silent)
    if not groups:
        _record(run, candidates, tester, {**details, "error": "no candidate gave outputs", "chosen": default.id})
        return
    _record(run, candidates, tester, {**details, "chosen": _winner(list(groups.values()), default).id})


def _winner(groups: list[list[Turn]], default: Turn) -> Turn:
    """The largest group wins; among equal ones, the default's, else the one with the latest candidate."""
    size = max(len(g) for g in groups)
    top = [g for g in groups if len(g) == size]
    group = max(top, key=lambda g: (default.id in {t.id for t in g}, max(t.seq for t in g)))
    return default if default.id in {t.id for t in group} else max(group, key=lambda t: t.seq)


def _record(run: RunContext, candidates: list[Turn], tester: Turn, details: dict[str, Any]) -> None:
    """Store the selection as a note, then submit the stored choice (so a resumed run submits the same)."""
    if "error" in details:
        text = f"Selection by model-written inputs failed: {details['error']}; the default pick {details['chosen']} stands."
    else:
        sizes = ", ".join(str(len(g["candidates"])) for g in details["groups"])
        text = (f"Selected by model-written inputs (S*): {len(details['inputs'])} input(s) from {tester.id} split "
                f"{len(candidates)} tied candidates into groups of {sizes}; chose {details['chosen']}"
                f" (default {details['default']}).")
    note = run.note("disagreement", parents=[*candidates, tester], details=details,
                    output=text + "\n" + json.dumps({"inputs": details["inputs"], "groups": details["groups"]}))
    run.choose(run.graph[note.feedback[0].details["chosen"]])
