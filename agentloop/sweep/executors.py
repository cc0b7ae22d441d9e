"""The local executor: runs the sweep's jobs in this process, ``concurrency`` at a time.

Jobs that share a content key (two configurations that resolve to the same run) run once; each
job's facts come from the store afterwards, so a reused run and a fresh one read the same way.

``concurrency`` counts the runs that are on the model (generating, or about to). A run whose
model calls have all ended is checking its candidate, scoring it on the hidden tests or storing
it: while every running run is in that state, the next one starts, so the next task decodes while
the last one's checks run instead of the model waiting for them (at most ``2 x concurrency`` runs
in flight). Runs start in plan order, each once the ones ahead of it are off the model (a later
turn of a run, e.g. a refinement, may then queue behind the next run's first prompt, as with
``concurrency`` above 1). With a ``total_budget.max_tokens`` no run starts before the runs ahead of it
are counted, so the sweep stops exactly where the budget says. Facts are kept in plan order.
"""

from __future__ import annotations

import asyncio

from ..models import ModelCalls, ModelPool
from ..store import Store
from .jobs import Job, execute_job
from .ledger import Ledger
from .measures import RunFacts, facts
from .progress import Tally


def job_facts(job: Job, run_id: str, store: Store, ledger: Ledger) -> RunFacts:
    """The finished job's run, reduced to numbers."""
    known = ledger.lookup(job.key)
    hidden = known[1] if known and known[1] is not None else {}
    return facts(store.get_run(run_id), store.turns(run_id), hidden, config=job.config, seed=job.seed)


def run_local(jobs: list[Job], *, store: Store, ledger: Ledger, tally: Tally, concurrency: int) -> None:
    """Run every job (until the overall budget says stop), counting each into ``tally``."""
    asyncio.run(_run_local(jobs, store=store, ledger=ledger, tally=tally, concurrency=concurrency))


async def _run_local(jobs: list[Job], *, store: Store, ledger: Ledger, tally: Tally, concurrency: int) -> None:
    shared = ModelPool()
    running: dict[str, asyncio.Future] = {}  # key -> the job computing it, for jobs that share a key
    active: list[ModelCalls] = []  # the model calls of each job in flight
    changed = asyncio.Event()  # a job ended, or one of its model calls did
    done: dict[int, RunFacts] = {}
    # uncounted tokens of runs still checking could carry the sweep past its token budget
    most = concurrency if tally.budget.max_tokens is not None else 2 * concurrency

    def may_start() -> bool:
        return sum(c.on_model for c in active) < concurrency and len(active) < most

    async def one(index: int, job: Job, calls: ModelCalls) -> None:
        try:
            if job.key in running:
                run_id = await running[job.key]
            else:
                future = running[job.key] = asyncio.get_running_loop().create_future()
                try:
                    run_id = await execute_job(job, store=store, ledger=ledger, shared=shared, calls=calls)
                except BaseException as exc:
                    future.set_exception(exc)
                    future.exception()  # retrieved: this task re-raises it below
                    raise
                future.set_result(run_id)
            done[index] = job_facts(job, run_id, store, ledger)
            tally.add(done[index])
        finally:
            active.remove(calls)
            changed.set()

    async with asyncio.TaskGroup() as group:
        for index, job in enumerate(jobs):
            while not may_start():
                changed.clear()  # no await since may_start(): no change can be missed
                await changed.wait()
            if tally.exhausted() is not None:
                break
            calls = ModelCalls(changed.set)
            active.append(calls)
            group.create_task(one(index, job, calls))
    tally.facts[:] = [done[i] for i in sorted(done)]  # completion order varies; results read in plan order
