"""Feedback: the typed verdict of one check on one candidate, and the loading of feedback kinds.

A feedback kind is one file ``tools/<kind>.py`` defining ``Config`` (a pydantic model of the
kind's options, unknown keys forbidden) and ``async def check(code, config, ctx) -> Feedback``.
Kinds are looked up in the task folder's ``tools/``, then ``./tools``, then the packaged ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import telemetry
from .resources import load_module_file, search_path

if TYPE_CHECKING:
    from .confidence import EarlyStop
    from .sandbox import Sandbox
    from .task import Task

SUMMARY_LIMIT = 2000  # what the next prompt shows of one check
STOPPED = "confidence"  # the kind of the one feedback entry of a reply stopped for low confidence


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check: a bad candidate is ``passed=False``, never an exception."""

    kind: str
    passed: bool
    score: float
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    weight: float = 1.0
    advisory: bool = False  # shown to the agents, never counted in `passed` or the score (model-written tests)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the store and ``show --json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        """Inverse of ``to_dict``."""
        return cls(**data)


# ask(template_role, variables, schema) -> Structured: a structured model call made for a check
Asker = Callable[[str, dict[str, Any], type], Awaitable[Any]]


@dataclass(frozen=True)
class CheckContext:
    """What a feedback kind may use: the task, the sandbox, the checks already run on this
    candidate, and ``ask`` for kinds that consult a model (None where no model is available)."""

    task: Task
    sandbox: Sandbox
    earlier: tuple[Feedback, ...] = ()
    ask: Asker | None = None


def trim(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Bound untrusted text: keep the head and the tail, which is where errors usually are."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters cut] …\n{text[-half:]}"


def load_kind(name: str, task_dir: Path | None) -> ModuleType:
    """Load the feedback kind ``name``; ``LookupError`` if no folder has it."""
    for folder in search_path("tools", task_dir):
        path = folder / f"{name}.py"
        if path.is_file():
            return _load_module(str(path.resolve()), path.stat().st_mtime_ns)
    raise LookupError(f"unknown feedback kind '{name}'")


def _load_module(path: str, mtime_ns: int) -> ModuleType:
    module = load_module_file(path, mtime_ns, "agentloop_tool")
    for required in ("Config", "check"):
        if not hasattr(module, required):
            raise LookupError(f"feedback kind {path} does not define {required}")
    return module


def scan_for(code: str, task: Task) -> Feedback | None:
    """The failing ``scan`` check for a candidate that tampers with the harness, if the task scans."""
    from .scan import scan_feedback  # scan builds Feedback objects: imported late to avoid a cycle
    if task.output != "code" or not task.sandbox.scan:
        return None
    return scan_feedback(code, task.language)


def with_preamble(code: str, task: Task) -> str:
    """The file every check runs: the task's ``preamble``, then the candidate (HumanEval runs
    ``prompt + completion``). A candidate that redefines a preamble function replaces it, as
    a later ``def`` does in any module; a bare function body completes the preamble's stub."""
    if not task.preamble:
        return code
    return task.preamble + ("" if task.preamble.endswith("\n") else "\n") + code


@dataclass(frozen=True)
class Cascade:
    """Checks run stage by stage: ``stages`` are lists of indices into the task's feedback entries.

    The stage after stage ``k`` runs only when stage ``k`` clears: every check so far passed or,
    where ``thresholds[k]`` is a number, the weighted mean score of stage ``k``'s checks reaches it
    (a number lets a partly good candidate through to a costlier, finer check, as OpenEvolve's
    cascade thresholds do). A flagged ``scan`` never clears.
    """

    stages: tuple[tuple[int, ...], ...]
    thresholds: tuple[float | None, ...] = ()

    def clears(self, stage: int, results: list[Feedback], first: int) -> bool:
        """Whether the checks of ``stage`` (``results[first:]``) let the next stage run."""
        if any(f.kind == "scan" and not f.passed for f in results):
            return False
        threshold = self.thresholds[stage] if stage < len(self.thresholds) else None
        if threshold is None:  # every real check so far passed (advisory entries, like traces, never count)
            return all(f.passed for f in results if not f.advisory)
        return combined_score(results[first:]) >= threshold


async def run_checks(code: str, task: Task, sandbox: Sandbox, specs: list | None = None,
                     ask: Asker | None = None, cascade: Cascade | None = None) -> list[Feedback]:
    """Run every feedback entry of the task (or ``specs``) on ``code``, in order.

    Every check sees the task's ``preamble`` followed by ``code`` (``with_preamble``). The
    task's own checks of Python code start with the static ``scan`` of the candidate (only
    present when it finds something, and then failing): tampering with the harness can never pass.
    ``cascade`` runs them stage by stage; once a stage does not clear (``Cascade.clears``), the
    later stages' checks are not run but recorded as failing (``details.not_run``), so an
    expensive check never runs on a candidate a cheap one rejects.
    """
    results: list[Feedback] = []
    flagged = scan_for(code, task) if specs is None else None
    code = with_preamble(code, task)
    if flagged is not None:
        results.append(flagged)
    specs = task.feedback if specs is None else specs
    stages = cascade.stages if cascade else ()
    order = [i for stage in stages for i in stage] if stages else list(range(len(specs)))
    ends = {sum(len(s) for s in stages[: n + 1]) - 1: n for n in range(len(stages))}
    cleared, first = True, len(results)
    for position, index in enumerate(order):
        spec = specs[index]
        if not cleared:
            results.append(Feedback(kind=spec.kind, passed=False, score=0.0, weight=spec.weight,
                                    summary="Not run: the candidate failed a cheaper check first.",
                                    details={"not_run": "cascade"}))
            continue
        kind = load_kind(spec.kind, task.source_dir)
        config = kind.Config.model_validate(spec.options)
        started = time.monotonic()
        ctx = CheckContext(task=task, sandbox=sandbox, earlier=tuple(results), ask=ask)
        with telemetry.check(spec.kind) as span:
            fb: Feedback = await kind.check(code, config, ctx)
            telemetry.verdict(span, fb)
        # the isolation actually used, for the record (`show` displays it)
        details = {**fb.details, "isolation": fb.details.get("isolation") or sandbox.describe(task.language == "python")}
        results.append(Feedback(kind=spec.kind, passed=fb.passed, score=min(1.0, max(0.0, fb.score)),
                                summary=trim(fb.summary), details=details,
                                duration_s=round(time.monotonic() - started, 4),
                                # an advisory entry (the trace kind's) is information: weight 0, never counted
                                weight=0.0 if fb.advisory else spec.weight, advisory=fb.advisory))
        if cascade and position in ends:  # the end of a cascade stage: does the next one run?
            cleared, first = cascade.clears(ends[position], results, first), len(results)
        await asyncio.sleep(0)
    return results


def combined_score(feedback: list[Feedback]) -> float:
    """Weighted mean of the checks' scores (advisory ones aside); no checks scores 0."""
    counted = [f for f in feedback if not f.advisory]
    total = sum(f.weight for f in counted)
    if total <= 0:
        return 0.0
    return round(sum(f.score * f.weight for f in counted) / total, 4)


def all_passed(feedback: list[Feedback]) -> bool:
    """True when there is at least one real check and every real one passed (advisory ones aside)."""
    counted = [f for f in feedback if not f.advisory]
    return bool(counted) and all(f.passed for f in counted)


def stopped_early(stop: EarlyStop | None) -> Feedback | None:
    """The one failing entry of a candidate whose reply was stopped for low confidence, instead of its checks.

    A cut reply is unfinished code: checking it would spend a sandbox run to learn nothing, and
    its failing verdict keeps it from ever being submitted over a finished candidate.
    """
    if stop is None:
        return None
    return Feedback(kind=STOPPED, passed=False, score=0.0, summary=stop.describe(), details=stop.to_dict())
