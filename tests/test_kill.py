"""``kill -9`` of ``agentloop run`` at random points, then ``resume``.

After each kill: the store passes ``PRAGMA integrity_check``; every turn whose progress line the
test had read before the kill is stored; ``resume`` finishes the run with exactly the turns of an
unkilled reference run (nothing lost, nothing twice, the same outputs); and no sandboxed program
outlives the kill by more than the sandbox's wall limit plus one second.

10 trials run in the default suite, 100 with ``--run-slow``. The kill points are drawn from a
seeded generator (``AGENTLOOP_KILL_SEED``, default 1234) over the reference run's duration, so a
failing trial can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from helpers import cli_json, run_cli
from procs import PROGRESS, CliFactory, alive, descendants, describe, kill_all, sandboxed, stored

# SANDBOX-CLEANUP. The sandbox's zygote kills its programs when the CLI dies. A process once survived
# in 2 of about 390 kills: a zygote still importing pytest when the CLI died only noticed afterwards;
# it now watches for the hang-up while importing. Set to False to turn a survivor into an xfail.
SANDBOX_KILLS_ORPHANS = True

WALL_LIMIT_S = 1  # the task's sandbox.timeout_s
GOOD = "```python\nprint('ok')\n```"
BAD = "```python\nprint('no')\n```"
HANG = "```python\nimport time\ntime.sleep(30)\nprint('ok')\n```"  # its check times out after WALL_LIMIT_S
SCRIPT = {"solver": [BAD], "critic": ["c1", "c2"], "refiner": [HANG, GOOD]}


@pytest.fixture
def task(tmp_path: Path) -> Path:
    folder = tmp_path / "task"
    folder.mkdir()
    data = {"name": "echo_ok", "prompt": "Print ok.",
            "feedback": [{"kind": "compile"}, {"kind": "run", "cases": [{"stdout": "ok\n"}]}],
            "strategy": {"name": "refine", "max_turns": 3}, "models": {"default": "scripted:script.yaml"},
            "sandbox": {"timeout_s": WALL_LIMIT_S}}
    (folder / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "script.yaml").write_text(yaml.safe_dump(SCRIPT))
    return folder / "task.yaml"


@pytest.fixture
def clis():
    factory = CliFactory()
    yield factory
    factory.cleanup()


def final_turns(db: Path, run_id: str) -> list[tuple[int, str, str]]:
    rows, check = stored(db)
    assert check == "ok"
    return [(seq, role, json.loads(body)["output"]) for run, seq, role, body in rows if run == run_id]


def reference(task: Path, tmp_path: Path) -> tuple[list[tuple[int, str, str]], float]:
    """The turns and the duration of the same run, not killed."""
    started = time.monotonic()
    proc = run_cli("run", str(task), "--json", cwd=tmp_path)
    duration = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    turns = final_turns(tmp_path / ".agentloop" / "agentloop.db", cli_json(proc)["run_id"])
    assert [role for _, role, _ in turns] == ["solver", "critic", "refiner", "critic", "refiner"]
    return turns, duration


def run_ids(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT id FROM runs")]
        except sqlite3.OperationalError:  # killed before the tables were created
            return []


def kill_trial(clis: CliFactory, task: Path, folder: Path, delay: float, expected: list) -> dict:
    """One run killed with SIGKILL after ``delay`` seconds, checked, resumed and checked again."""
    folder.mkdir()
    cli = clis("run", str(task), "--json", cwd=folder)
    cli.wait_for(lambda: False, timeout=delay)
    acked = [(m["run"], m["turn"], m["role"]) for line in cli.lines() if (m := PROGRESS.match(line))]
    suspects = descendants(cli.pid) | sandboxed(cli.pid)
    finished_before = cli.proc.poll() is not None
    cli.kill()
    killed_at = time.monotonic()
    suspects |= sandboxed(cli.pid)
    survivors: set[str] = set()
    if any(alive(p) for p in suspects):
        time.sleep(max(0.0, killed_at + WALL_LIMIT_S + 1 - time.monotonic()))
        survivors = {describe(p) for p in suspects if alive(p)}
        kill_all({p for p in suspects if alive(p)})

    db = folder / ".agentloop" / "agentloop.db"
    ids = run_ids(db)
    if db.exists():
        assert stored(db)[1] == "ok", "integrity_check after the kill"
    if not ids:
        assert not acked, "a turn was acknowledged but no run is stored"
        return {"survivors": survivors, "kind": "before the run was stored"}
    [run_id] = ids
    before = final_turns(db, run_id)
    held = {(f"t{seq}", role) for seq, role, _ in before}
    for run, turn, role in acked:
        assert run == run_id and (turn, role) in held, f"acknowledged {turn} {role} is not in the store"
    assert before == expected[: len(before)], "stored turns are a prefix of the reference run"

    resumed = run_cli("resume", run_id, "--json", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert cli_json(resumed)["status"] == "solved"
    assert final_turns(db, run_id) == expected, "resume: nothing lost, nothing twice"
    with sqlite3.connect(db) as conn:
        attempts = [a for (a,) in conn.execute("SELECT attempt FROM turns WHERE run_id = ? ORDER BY seq", (run_id,))]
    assert attempts == sorted(attempts) and set(attempts) <= {1, 2}
    kind = "after the run finished" if finished_before else f"mid-run, {len(before)} turns stored"
    return {"survivors": survivors, "kind": kind}


def run_trials(clis: CliFactory, task: Path, tmp_path: Path, count: int) -> None:
    expected, duration = reference(task, tmp_path)
    seed = int(os.environ.get("AGENTLOOP_KILL_SEED", "1234"))
    rng = random.Random(seed)
    outcomes = []
    for i in range(count):
        delay = rng.uniform(0.0, 0.9 * duration)  # the reference was the cold first run: a little slower
        try:
            outcomes.append(kill_trial(clis, task, tmp_path / f"trial{i}", delay, expected))
        except AssertionError as exc:
            raise AssertionError(f"trial {i} (seed {seed}, kill after {delay:.2f} s): {exc}") from exc
    kinds: dict[str, int] = {}
    for outcome in outcomes:
        kinds[outcome["kind"]] = kinds.get(outcome["kind"], 0) + 1
    print(f"{count} kills over a {duration:.2f} s run (seed {seed}):", kinds)
    orphaned = [i for i, o in enumerate(outcomes) if o["survivors"]]
    if orphaned:
        message = (f"SANDBOX-CLEANUP: in {len(orphaned)} of {count} trials (e.g. trial {orphaned[0]}) a sandboxed "
                   f"program outlived the SIGKILLed CLI by more than {WALL_LIMIT_S} s + 1 s: "
                   f"{sorted(outcomes[orphaned[0]]['survivors'])}")
        if not SANDBOX_KILLS_ORPHANS:
            pytest.xfail(message)
        raise AssertionError(message)


def test_kill_9_at_random_points_then_resume(task, clis, tmp_path):
    run_trials(clis, task, tmp_path, 10)


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_100_times(task, clis, tmp_path):
    run_trials(clis, task, tmp_path, 100)
