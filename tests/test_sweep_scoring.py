"""One hidden-scoring path and one resume path for `run` and `sweep` (issue 12, part 6)."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from sweep_fixtures import TASKS, WRONG_DOUBLE, code

from agentloop.engine.runlock import RunLock
from agentloop.errors import RunActiveError
from agentloop.models import ModelPool
from agentloop.store import Store
from agentloop.sweep.driver import plan
from agentloop.sweep.jobs import execute_job
from agentloop.sweep.ledger import Ledger
from agentloop.sweep.spec import load_sweep

# passes every test, but exits the process behind the runner's back on one input: the scan flags it
TAMPERING = code("import os\n\ndef double(x):\n    if x is None:\n        os._exit(0)\n    return 2 * x")


def _sweep(folder, replies: list[str], **strategy) -> str:
    (folder / "suite").mkdir()
    (folder / "suite" / "tasks.jsonl").write_text(json.dumps(TASKS[0]) + "\n")
    (folder / "script.yaml").write_text(yaml.safe_dump(replies))
    doc = {"suite": "suite/tasks.jsonl", "seeds": [0], "models": {"default": "scripted:script.yaml"},
           "configs": [{"name": "c", "strategy": strategy}]}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(doc))
    return str(folder / "sweep.yaml")


def test_the_sweep_scores_a_tampering_candidate_as_the_run_scores_its_submission(tmp_path):
    from agentloop.sweep.driver import run_sweep

    path = _sweep(tmp_path, [TAMPERING, WRONG_DOUBLE], name="best_of_n", n=2, temperature=0.8, early_stop=False)
    results = run_sweep(path, tmp_path / "out", store=tmp_path / "s.db", progress=False, plots=False)
    [run] = results.runs
    assert run.candidates == 2 and not run.passed
    # the tampering candidate passes the hidden tests' assertions, but no path may count it as passing
    assert run.any_passed is False
    store = Store(tmp_path / "s.db")
    con = Ledger(store)
    try:
        [(_, hidden)] = [con.lookup(job.key) for job in plan(load_sweep(path))[0]]
    finally:
        con.close()
        store.close()
    assert hidden == {"t1": False, "t2": False}


def test_a_sweep_resumes_an_unfinished_run_only_under_its_lock(tmp_path):
    path = _sweep(tmp_path, [WRONG_DOUBLE] * 4, name="refine", max_turns=2, critic=False)
    [job], _ = plan(load_sweep(path))
    store = Store(tmp_path / "s.db")
    ledger = Ledger(store)
    try:
        task = job.task()
        store.create_run("r1", task.to_data(), job.base_dir, job.task_data["models"], job.seed)
        ledger.record(job.key, "r1", task=job.task_name, config=job.config, seed=job.seed)
        with RunLock(store.path, "r1"):  # another process is still running (or resuming) it
            with pytest.raises(RunActiveError):
                asyncio.run(execute_job(job, store=store, ledger=ledger, shared=ModelPool()))
        assert store.turns("r1") == []  # nothing was written behind the live process's back
        asyncio.run(execute_job(job, store=store, ledger=ledger, shared=ModelPool()))  # lock free: resumed
        assert store.get_run("r1").status == "unsolved" and len(store.turns("r1")) == 2
    finally:
        ledger.close()
        store.close()
