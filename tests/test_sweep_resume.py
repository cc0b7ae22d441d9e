"""A sweep killed with SIGKILL mid-way resumes without redoing finished runs, and ends as if never killed."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import yaml
from helpers import run_cli
from sweep_fixtures import GOOD_DOUBLE, TASKS, WRONG_DOUBLE

# a feedback kind that takes a while, so the kill lands inside a run
SLOW_KIND = '''
import asyncio
from pydantic import BaseModel, ConfigDict
from agentloop.feedback import Feedback

class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.3

async def check(code, config, ctx):
    await asyncio.sleep(config.seconds)
    return Feedback(kind="slow", passed=True, score=1.0, summary="waited")
'''


def _experiment(folder):
    (folder / "suite" / "tools").mkdir(parents=True)
    (folder / "suite" / "tools" / "slow.py").write_text(SLOW_KIND)
    task = {**TASKS[0], "feedback": [*TASKS[0]["feedback"], {"kind": "slow"}]}
    (folder / "suite" / "tasks.jsonl").write_text(json.dumps(task) + "\n")
    (folder / "script.yaml").write_text(yaml.safe_dump({"solver": [WRONG_DOUBLE], "refiner": [WRONG_DOUBLE, GOOD_DOUBLE]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": list(range(6)), "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "refine3", "strategy": {"name": "refine", "max_turns": 3, "critic": False}}]}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(sweep))


def _db(path, sql):
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _table(path):
    with path.open() as fh:
        return [{k: v for k, v in row.items() if k not in ("seconds", "wall_s")} for row in csv.DictReader(fh)]


def test_sweep_resumes_after_sigkill_without_redoing_runs(tmp_path):
    _experiment(tmp_path)
    env = {**os.environ}
    env.pop("AGENTLOOP_STORE", None)
    proc = subprocess.Popen([sys.executable, "-m", "agentloop.cli", "sweep", "sweep.yaml", "--out", "out",
                             "--store", "s.db", "--quiet"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:  # kill once two runs are finished and a third is part-way through
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if not (tmp_path / "s.db").exists():
                continue
            try:
                done = _db(tmp_path / "s.db", "SELECT COUNT(*) FROM runs WHERE status = 'solved'")[0][0]
                partial = _db(tmp_path / "s.db", "SELECT COUNT(*) FROM runs r WHERE status = 'running' AND "
                                                 "(SELECT COUNT(*) FROM turns t WHERE t.run_id = r.id) >= 1")[0][0]
            except sqlite3.OperationalError:
                continue  # tables not created yet
            if done >= 2 and partial:
                break
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = dict(_db(tmp_path / "s.db", "SELECT id, status FROM runs"))
    turns_before = dict(_db(tmp_path / "s.db", "SELECT run_id, COUNT(*) FROM turns GROUP BY run_id"))
    assert "running" in before.values() and not (tmp_path / "out").exists()

    resumed = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after = dict(_db(tmp_path / "s.db", "SELECT id, status FROM runs"))
    ledger = dict(_db(tmp_path / "s.db", "SELECT seed, run_id FROM sweep_runs"))
    # every run that existed with turns is still the run of its seed: finished ones reused, the cut one resumed
    assert set(ledger) == set(range(6)) and set(turns_before) <= set(ledger.values())
    assert all(after[rid] == "solved" for rid in ledger.values())
    # a run created but killed before its first turn may be orphaned; no run was started twice with turns
    assert len([rid for rid in after if rid not in ledger.values() and rid in turns_before]) == 0
    turns = dict(_db(tmp_path / "s.db", "SELECT run_id, COUNT(*) FROM turns GROUP BY run_id"))
    assert all(turns[rid] == 3 for rid in ledger.values())  # solver, refiner, refiner: no turn repeated
    for rid, status in before.items():
        if status == "solved":
            assert turns[rid] == turns_before[rid]

    fresh = run_cli("sweep", "sweep.yaml", "--out", "fresh", "--store", "fresh.db", "--quiet", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert _table(tmp_path / "out" / "results.csv") == _table(tmp_path / "fresh" / "results.csv")
    row = _table(tmp_path / "out" / "results.csv")[0]
    assert (row["samples"], row["passing"], row["candidates"]) == ("6", "6", "18")


def test_a_run_that_goes_on_after_it_was_scored_is_scored_again(tmp_path):
    """Verdicts stored for a run that ended as error describe that run, not the run it becomes.

    The run's refiner has no reply (a model failure: the run ends as ``error`` after its first
    candidate, and the sweep scores that candidate). The run is then resumed outside the sweep, as
    a user would, and finishes with a second, right candidate; the next sweep must count it.
    """
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text(json.dumps(TASKS[0]) + "\n")
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"solver": [WRONG_DOUBLE]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "models": {"default": "scripted:script.yaml"},
             "score_candidates": True,
             "configs": [{"name": "refine2", "strategy": {"name": "refine", "max_turns": 2, "critic": False}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    first = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    [(run_id, status)] = _db(tmp_path / "s.db", "SELECT id, status FROM runs")
    assert status == "error"
    assert [json.loads(h) for (h,) in _db(tmp_path / "s.db", "SELECT hidden_json FROM sweep_runs")] == [{"t1": False}]

    script.write_text(yaml.safe_dump({"solver": [WRONG_DOUBLE], "refiner": [GOOD_DOUBLE]}))
    resumed = run_cli("resume", run_id, "--store", "s.db", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    again = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [json.loads(h) for (h,) in _db(tmp_path / "s.db", "SELECT hidden_json FROM sweep_runs")] == \
        [{"t1": False, "t2": True}]
    row = _table(tmp_path / "out" / "results.csv")[0]
    assert (row["samples"], row["passing"], row["candidates"]) == ("1", "1", "2")
