"""One unit of sweep work: a (task, configuration, seed) run, started, resumed or reused, then scored.

The same ``execute_job`` runs in the driver (local executor) and on a Ray worker (against a
scratch store whose rows are then copied into the driver's store), so both executors give the
same results. Scoring runs ``hidden_verdict``, the function the orchestrator scores a run's
submission with, on every distinct candidate when asked to, after the run has finished: no
agent ever sees these verdicts. A run left unfinished is resumed through ``aresume``, the path
``agentloop resume`` takes, under the run's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import aresume, arun
from ..checks.hidden import hidden_verdict
from ..core.status import RunStatus
from ..errors import RunNotFoundError
from ..models import ModelCalls, ModelPool
from ..sandbox import Sandbox
from ..store import RunRecord, Store
from ..store.graph import Turn
from ..task import Task
from .ledger import Ledger

FINISHED = tuple(s for s in RunStatus if s.finished)


@dataclass(frozen=True)
class Job:
    """Everything one run needs, as plain data (it travels to Ray workers)."""

    key: str
    task_name: str
    config: str
    seed: int
    task_data: dict[str, Any]  # the suite task with the configuration applied (strategy, models, budget…)
    base_dir: str | None
    score_candidates: bool = True

    def task(self) -> Task:
        """The validated task of this run."""
        return Task.from_dict(self.task_data, base_dir=self.base_dir, label=f"{self.task_name} [{self.config}]")


def run_pool(shared: ModelPool, models: dict[str, str], calls: ModelCalls | None = None) -> ModelPool:
    """A pool for one run: loaded models are shared between runs, scripted ones are not.

    A scripted model is a queue of replies; shared between runs, which run gets which reply would
    depend on scheduling. A fresh one per run makes every run replay its script from the start.
    ``calls`` counts this run's model calls for the executor's scheduling.
    """
    pool = ModelPool(calls)
    for uri in models.values():
        if not uri.startswith("scripted:"):
            pool.add(shared.get(uri))
    return pool


async def execute_job(job: Job, *, store: Store, ledger: Ledger, shared: ModelPool,
                      calls: ModelCalls | None = None) -> str:
    """Run, resume or reuse the job's run and score its candidates; returns the run id.

    ``calls`` (the executor's) counts the run's model calls, so it can tell when the run is off the model.
    """
    known = ledger.lookup(job.key)
    run_id, hidden = known if known else (None, None)
    status = store.get_run(run_id).status if run_id else None
    if run_id is None or status not in FINISHED:
        task = job.task()
        pool = run_pool(shared, task.models, calls)
        if run_id is not None:  # interrupted (or failed) earlier: continue from its last finished turn
            # A score of the unfinished run is stale once it goes on: forget it first, so a kill between
            # the resume and the new score leaves "not scored", never the old verdicts.
            ledger.unscore(job.key)
            await aresume(run_id, store=store, pool=pool)  # under the run's lock, as `agentloop resume`
        else:
            def remember(event: dict[str, Any]) -> None:
                if event["event"] == "start":  # the run row exists: map the key to it before any turn
                    ledger.record(job.key, event["run_id"], task=job.task_name, config=job.config, seed=job.seed)
            result = await arun(task, store=store, seed=job.seed, on_event=remember, pool=pool)
            run_id = result.run_id
        hidden = None
    elif hidden is not None and set(hidden) != {t.id for t in _wanted(job, store, run_id)}:
        hidden = None  # scored before the run had all its candidates (a store written by an older version)
    if hidden is None:
        hidden = await score_candidates(job, store, run_id)
        ledger.scored(job.key, hidden)
    return run_id


async def score_candidates(job: Job, store: Store, run_id: str) -> dict[str, bool]:
    """Hidden-test verdict per candidate turn (the submitted one always; all of them if asked).

    Every candidate is scored by ``hidden_verdict``, the path the run scored its submission by
    (tamper scan included), so coverage and pass@k count the same candidates as passing.
    """
    record = store.get_run(run_id)
    verdicts: dict[str, bool] = {}
    solution = (record.result or {}).get("solution")
    picked = (record.result or {}).get("hidden_tests")
    wanted = _wanted(job, store, run_id)
    if not wanted:
        return verdicts
    task = job.task()
    by_code: dict[str | None, bool] = {}  # by candidate (None: the turn wrote none; it passes nothing)
    if solution is not None and picked is not None:
        by_code[solution] = bool(picked["passed"])  # the run's own verdict on its submission
    sandbox = Sandbox(isolation=task.sandbox.isolation)
    try:
        for turn in wanted:
            if turn.candidate not in by_code:
                by_code[turn.candidate] = bool((await hidden_verdict(turn.candidate, task, sandbox))["passed"])
            verdicts[turn.id] = by_code[turn.candidate]
    finally:
        sandbox.close()
    return verdicts


def _wanted(job: Job, store: Store, run_id: str) -> list[Turn]:
    """The candidate turns ``score_candidates`` scores: every one, or only the submission; none for a task
    without hidden tests (a scored objective, measured by its own check)."""
    if not job.task_data.get("hidden_tests"):
        return []
    solution = (store.get_run(run_id).result or {}).get("solution")
    return [t for t in store.turns(run_id)
            if t.candidate is not None and (job.score_candidates or t.candidate == solution)]


def export_run(store: Store, run_id: str) -> dict[str, Any]:
    """A stored run as plain data (record and turns), to copy into another store."""
    return {"record": store.get_run(run_id).to_dict(), "turns": [t.to_dict() for t in store.turns(run_id)]}


def import_run(store: Store, data: dict[str, Any]) -> str:
    """Copy an exported run into ``store``: creates it if new, adds the turns it lacks, finishes it."""
    rec = RunRecord.from_dict(data["record"])
    run_id = rec.id
    try:
        have = {t.seq for t in store.turns(store.get_run(run_id).id)}
    except RunNotFoundError:  # a run the driver has not seen yet
        store.create_run(run_id, rec.task, rec.task_dir, rec.models, rec.seed)
        have = set()
    for turn in data["turns"]:
        if turn["seq"] not in have:
            store.add_turn(run_id, Turn.from_dict(turn), rec.seconds)
    store.finish_run(run_id, status=rec.status, stop_reason=rec.stop_reason, error=rec.error,
                     seconds=rec.seconds, result=rec.result)
    return run_id


def scratch_store(folder: str | Path) -> Store:
    """A throwaway store for a worker."""
    return Store(Path(folder) / "worker.db")
