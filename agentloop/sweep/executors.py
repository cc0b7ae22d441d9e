"""The local executor: runs the sweep's jobs in this process, ``concurrency`` at a time.

Jobs that share a content key (two configurations that resolve to the same run) run once; each
job's facts come from the store afterwards, so a reused run and a fresh one read the same way.
"""

from __future__ import annotations

import asyncio

from ..models import ModelPool
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
    pending = list(jobs)
    running: dict[str, asyncio.Future] = {}  # key -> the job computing it, for jobs that share a key

    async def worker() -> None:
        while pending and tally.exhausted() is None:
            job = pending.pop(0)
            if job.key in running:
                run_id = await running[job.key]
            else:
                future = running[job.key] = asyncio.get_running_loop().create_future()
                try:
                    run_id = await execute_job(job, store=store, ledger=ledger, shared=shared)
                except BaseException as exc:
                    future.set_exception(exc)
                    future.exception()  # retrieved: the worker re-raises it below
                    raise
                future.set_result(run_id)
            tally.add(job_facts(job, run_id, store, ledger))

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(jobs)) or 1):
            group.create_task(worker())
