"""Running a task's checks on a candidate: every feedback entry in order, or stage by stage
(``Cascade``), after the tamper scan, on the task's ``preamble`` followed by the candidate.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core import telemetry
from .kinds import load_kind
from .record import Asker, CheckContext, Feedback, combined_score, trim
from .scan import scan_feedback

if TYPE_CHECKING:
    from ..sandbox import Sandbox
    from ..task import Task


def scan_for(code: str, task: Task) -> Feedback | None:
    """The failing ``scan`` check for a candidate that tampers with the harness, if the task scans."""
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
