"""The Ray executor: each job runs as a Ray task; its run comes back to the driver's store.

A worker runs the job against a scratch store (a run the driver had started is shipped along
and resumed there), then returns the run's record, turns and hidden verdicts as plain data; the
driver copies them into its own store and ledger. The same sweep file runs unchanged on one
machine (``ray.init()`` starts a local instance) or on a cluster (``--address ray://host:10001``);
workers need agentloop and the models' packages installed, and scripted-model or task files at
the same paths.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import asdict
from typing import Any

from ..errors import InputError
from ..models import ModelPool
from ..store import Store
from .executors import job_facts
from .jobs import FINISHED, Job, execute_job, export_run, import_run, scratch_store
from .ledger import Ledger
from .progress import Tally


def ray_job(job_data: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
    """Run one job on a worker; returns the run (exported) and its candidates' hidden verdicts."""
    job = Job(**job_data)
    with tempfile.TemporaryDirectory(prefix="agentloop-ray-") as folder:
        store = scratch_store(folder)
        ledger = Ledger(store)
        try:
            if prior is not None:
                run_id = import_run(store, prior)
                ledger.record(job.key, run_id, task=job.task_name, config=job.config, seed=job.seed)
            run_id = asyncio.run(execute_job(job, store=store, ledger=ledger, shared=ModelPool()))
            known = ledger.lookup(job.key)  # execute_job recorded (and scored) the key
            return {"run": export_run(store, run_id), "hidden": known[1] if known else None}
        finally:
            ledger.close()
            store.close()


def _connect(address: str | None):
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs ray: pip install 'agentloop[ray]'") from None
    if not ray.is_initialized():
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


def _done_locally(job: Job, store: Store, ledger: Ledger) -> str | None:
    """The run id when the driver's store already holds the job's finished, scored run."""
    known = ledger.lookup(job.key)
    if known and known[1] is not None and store.get_run(known[0]).status in FINISHED:
        return known[0]
    return None


def run_ray(jobs: list[Job], *, store: Store, ledger: Ledger, tally: Tally, address: str | None,
            concurrency: int) -> None:
    """Run the jobs on Ray, at most ``concurrency`` (or the cluster's CPUs) in flight."""
    ray = _connect(address)
    remote = ray.remote(num_cpus=1, max_retries=0)(ray_job)
    width = max(concurrency, int(ray.cluster_resources().get("CPU", 1)))
    pending = list(jobs)
    flying: dict[Any, Job] = {}  # Ray object ref -> its job
    waiting: dict[str, list[Job]] = {}  # key -> jobs that share an in-flight key
    while pending or flying:
        while pending and len(flying) < width and tally.exhausted() is None:
            job = pending.pop(0)
            if (run_id := _done_locally(job, store, ledger)) is not None:
                tally.add(job_facts(job, run_id, store, ledger))
            elif any(j.key == job.key for j in flying.values()):
                waiting.setdefault(job.key, []).append(job)
            else:
                known = ledger.lookup(job.key)
                prior = export_run(store, known[0]) if known else None
                flying[remote.remote(asdict(job), prior)] = job
        if not flying:
            break
        [ref], _ = ray.wait(list(flying), num_returns=1)
        job = flying.pop(ref)
        out = ray.get(ref)
        run_id = import_run(store, out["run"])
        ledger.record(job.key, run_id, task=job.task_name, config=job.config, seed=job.seed)
        ledger.scored(job.key, out["hidden"] or {})
        for done in [job, *waiting.pop(job.key, [])]:
            tally.add(job_facts(done, run_id, store, ledger))
