"""``codet``: a tester agent writes tests; candidates are ranked by dual execution agreement.

CodeT (Chen et al. 2022). ``n`` candidates and ``testers`` test suites are generated at the same
time. Every candidate runs every generated test in the sandbox; candidates that pass the same
set of generated tests form a consensus set scored |candidates| x |tests passed|, and the
submission comes from the best set. The generated tests are labelled model-written in the
stored run (one ``codet`` turn holds the whole agreement table) and never override the task's
own checks: the ranking only breaks ties between candidates equal on those.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.parsing import extract_code

if TYPE_CHECKING:
    from ..engine.context import RunContext
    from ..store.graph import Turn


class Params(BaseModel):
    """``n`` candidates and ``testers`` generated test suites, sampled at ``temperature``."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=4, ge=1, le=64)
    testers: int = Field(default=2, ge=1, le=16)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)


async def _passed_tests(run: RunContext, code: str, suites: list[tuple[str, str]]) -> list[str]:
    """Names (``<tester turn>::<test>``) of the generated tests this candidate passes."""
    passed = []
    for turn_id, tests in suites:
        fb = await run.run_tests(code, tests)
        failed = {f["test"] for f in fb.details.get("failures", [])}
        passed += [f"{turn_id}::{name}" for name in fb.details.get("names", []) if name not in failed]
    return passed


async def run(run: RunContext, params: Params) -> str:
    """Generate, cross-execute, rank; returns ``solved`` or ``ranked``."""
    sampled, testers = await asyncio.gather(run.sample("solver", params.n, temperature=params.temperature),
                                            run.sample("tester", params.testers, temperature=params.temperature))
    candidates: list[Turn] = [t for t in sampled if t.candidate]
    suites = [(t.id, code) for t in testers if (code := extract_code(t.output, "python"))]
    if not candidates or not suites or run.task.language != "python":
        return "solved" if (best := run.graph.best()) is not None and best.passed else (run.refused or "ranked")
    passing = await asyncio.gather(*(_passed_tests(run, c.candidate, suites) for c in candidates if c.candidate))
    groups: dict[frozenset, list[str]] = {}
    for cand, names in zip(candidates, passing, strict=True):
        groups.setdefault(frozenset(names), []).append(cand.id)
    table: list[dict[str, Any]] = [{"candidates": ids, "tests_passed": sorted(names), "consensus": len(ids) * len(names)}
             for names, ids in groups.items()]
    consensus = {cid: row["consensus"] for row in table for cid in row["candidates"]}
    pick = max(candidates, key=lambda c: (c.passed, c.score or 0.0, consensus[c.id], -c.seq))
    note = run.note("codet", parents=candidates + testers, details={
        "model_written_tests": True, "suites": [t for t, _ in suites], "agreement": table, "chosen": pick.id},
        output=f"CodeT ranking over {len(suites)} model-written test suite(s): chose {pick.id} "
               f"(consensus {consensus[pick.id]}).\n" + json.dumps(table))
    run.choose(run.graph[note.feedback[0].details["chosen"]])  # the stored choice, also on resume
    return "solved" if (best := run.graph.best()) is not None and best.passed else "ranked"
