"""Resume: a run killed with SIGKILL mid-way is finished by `agentloop resume`, no turn lost or repeated."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from helpers import GOOD_FIZZ, cli_json, run_cli

SLOW_BAD = """```python
import time
time.sleep(0.8)  # each check of this candidate takes a while, so the run can be killed mid-way
def fizzbuzz(n):
    return str(n)
```"""


def stored_turns(db) -> list[tuple[int, str]]:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT seq, turn_json FROM turns ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # the run's process has not created the tables yet
        return []


def test_sigkill_mid_run_then_resume_finishes_without_losing_or_repeating_turns(make_task, tmp_path):
    script = {"solver": [SLOW_BAD], "critic": ["c1", "c2", "c3"], "refiner": [SLOW_BAD, SLOW_BAD, GOOD_FIZZ]}
    path = make_task(script, strategy={"name": "refine", "max_turns": 4})
    db = tmp_path / ".agentloop" / "agentloop.db"
    proc = subprocess.Popen([sys.executable, "-m", "agentloop.cli", "run", str(path), "--json"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and len(stored_turns(db)) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    before = stored_turns(db)
    assert 3 <= len(before) < 7, "the kill should land mid-run"
    with sqlite3.connect(db) as conn:
        run_id, status = conn.execute("SELECT id, status FROM runs").fetchone()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert status == "running"

    resumed = run_cli("resume", run_id, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    out = cli_json(resumed)
    assert out["status"] == "solved" and out["turns"] == 7
    after = stored_turns(db)
    assert [seq for seq, _ in after] == list(range(1, 8))  # contiguous: nothing lost, nothing twice
    assert after[: len(before)] == before  # finished turns were replayed, not recomputed
    roles = [json.loads(t)["role"] for _, t in after]
    assert roles == ["solver", "critic", "refiner", "critic", "refiner", "critic", "refiner"]
    critiques = [json.loads(t)["output"] for _, t in after if json.loads(t)["role"] == "critic"]
    assert critiques == ["c1", "c2", "c3"]  # the scripted model picked up where the killed run left off


def test_resume_of_a_finished_run_returns_its_result(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    first = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))
    again = run_cli("resume", first["run_id"], "--json", cwd=tmp_path)
    assert again.returncode == 0 and cli_json(again) == first
