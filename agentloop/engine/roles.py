"""The agent roles: what each one sees, how it samples, and whether it writes code.

Prompt prose lives in ``prompts/<role>.j2``; this module only decides which variables a role's
template receives. ``hidden_tests`` are never among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.graph import Turn
    from ..task import Task

_LANGUAGE_NAMES = {"python": "Python", "c": "C"}


@dataclass(frozen=True)
class RoleSpec:
    """Sampling defaults of a role and whether its reply is parsed into a candidate."""

    name: str
    produces_candidate: bool
    temperature: float
    max_tokens: int


ROLE_SPECS = {
    "solver": RoleSpec("solver", produces_candidate=True, temperature=0.2, max_tokens=768),
    "critic": RoleSpec("critic", produces_candidate=False, temperature=0.2, max_tokens=384),
    "refiner": RoleSpec("refiner", produces_candidate=True, temperature=0.2, max_tokens=768),
    "judge": RoleSpec("judge", produces_candidate=False, temperature=0.0, max_tokens=256),
    "tester": RoleSpec("tester", produces_candidate=False, temperature=0.8, max_tokens=512),
}


def task_view(task: Task) -> dict[str, Any]:
    """The parts of a task every prompt may show (never the hidden tests)."""
    return {"name": task.name, "prompt": task.prompt.strip(), "language": task.language,
            "language_name": _LANGUAGE_NAMES[task.language], "entry_point": task.entry_point, "output": task.output,
            "starter": (task.starter or "").strip() or None,
            # leading blank lines kept: a base model in completion mode continues this text verbatim, and
            # 9 of HumanEval's first 30 prompts start with one (dropping it changed 7 of their completions)
            "preamble": (task.preamble or "").rstrip("\n") if (task.preamble or "").strip() else None}


def visible_checks(task: Task) -> list[str]:
    """A short description of each visible check, shown to the solver (public tests, I/O cases)."""
    out = []
    for spec in task.feedback:
        opts = spec.options
        if spec.kind == "tests" and "code" in opts:
            out.append(f"Unit tests:\n```{task.language}\n{opts['code'].strip()}\n```")
        elif spec.kind == "run" and "cases" in opts:
            cases = "\n".join(f"- stdin {c.get('stdin', '')!r} -> stdout {c.get('stdout')!r}" for c in opts["cases"][:10])
            out.append(f"The program is run with these inputs and its output compared:\n{cases}")
        elif spec.kind == "score":
            goal = "" if opts.get("target") is None else f", target {opts['target']}"
            out.append(f"An evaluator scores the program ({opts.get('direction', 'maximize')}{goal}).")
        elif spec.kind == "compile":
            out.append("The code must compile.")
    return out


HISTORY_CHARS = 8_000  # about 2,300 tokens of code and prose: room for a 768-token reply in a 4,096 context
TRIM_TO = 0.5  # a history past HISTORY_CHARS is cut to this share of it, not just under it (see conversation)


def conversation(parents: list[Turn], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """The messages of a turn: ``new`` alone if it opens with a system message (a fresh context),
    else the conversation of the latest parent, its reply, then ``new``.

    Continuing the conversation is what lets llama.cpp reuse the KV cache of the whole shared
    prefix. When the history grows past ``HISTORY_CHARS``, the oldest exchanges after the task
    are dropped in user/assistant pairs, so the roles still alternate, down to ``TRIM_TO`` of the
    limit: every cut changes the prompt right after the task, so everything after it is evaluated
    again; cutting well below the limit lets the next turns extend the cut history (and reuse its
    KV cache) instead of cutting one pair on every turn.
    """
    if not parents or (new and new[0]["role"] == "system"):
        return new
    last = max(parents, key=lambda t: t.seq)
    history = [*last.messages, {"role": "assistant", "content": last.output}]
    head, rest = history[:2], history[2:]
    size = sum(len(m["content"]) for m in head + rest + new)
    cut = 0  # drop pairs from the front, keeping a running size: re-summing per pair would be quadratic
    goal = HISTORY_CHARS * TRIM_TO if size > HISTORY_CHARS else HISTORY_CHARS
    while len(rest) - cut > 1 and size > goal:
        size -= len(rest[cut]["content"]) + len(rest[cut + 1]["content"])
        cut += 2
    return head + rest[cut:] + new


def context_for(task: Task, parents: list[Turn]) -> dict[str, Any]:
    """Template variables for a turn derived from ``parents``.

    The candidate and its feedback come from the nearest parent that wrote code, the critique
    from the nearest critic parent; a first solver turn has neither.
    """
    code_parent = next((p for p in parents if p.produces_candidate), None)
    critic = next((p for p in parents if p.role == "critic"), None)
    return {
        "task": task_view(task),
        "checks": visible_checks(task),
        "candidate": (code_parent.candidate or "(no code could be extracted from the previous reply)")
        if code_parent else None,
        "feedback": [f.to_dict() for f in code_parent.feedback] if code_parent else [],
        "critique": critic.output.strip() if critic else None,
        # a solver derived from critic turns is a Reflexion attempt: those are its memory
        "reflections": [p.output.strip() for p in parents if p.role == "critic"],
        # further code-writing parents: programs shown for inspiration (evolve's database samples)
        "inspirations": [{"id": p.id, "candidate": p.candidate, "score": p.score, "passed": p.passed}
                         for p in parents if p.produces_candidate and p is not code_parent and p.candidate],
    }
