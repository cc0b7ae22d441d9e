"""Durability through the real CLI: SIGTERM/SIGINT stop a run as ``interrupted`` (exit 3) and
``resume`` finishes it; one live process per run (the run lock); several processes share one store."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml
from helpers import cli_json, run_cli
from procs import PROGRESS, CliFactory, LiveCli, sandbox_folders, sandboxed, stored

import agentloop
from agentloop import Task

GOOD = "```python\nprint('ok')\n```"
BAD = "```python\nprint('no')\n```"
# a check of this candidate would take ten minutes: only a cancelled check ends sooner
SLOW = "```python\nimport time\ntime.sleep(600)\nprint('ok')\n```"


@pytest.fixture
def task(tmp_path):
    """A task whose check runs the candidate as a sandboxed program; returns (task path, script path)."""
    folder = tmp_path / "task"
    folder.mkdir()
    data = {"name": "echo_ok", "prompt": "Print ok.", "feedback": [{"kind": "run", "cases": [{"stdout": "ok\n"}]}],
            "strategy": {"name": "refine", "max_turns": 3}, "models": {"default": "scripted:script.yaml"},
            "sandbox": {"timeout_s": 300}}
    (folder / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "task.yaml", folder / "script.yaml"


@pytest.fixture
def clis():
    """Start CLIs in the background; whatever they leave running is killed afterwards."""
    factory = CliFactory()
    yield factory
    factory.cleanup()


def write_script(path, **roles) -> None:
    path.write_text(yaml.safe_dump(roles))


def run_id_of(cli: LiveCli) -> str | None:
    for line in cli.lines():
        if line.startswith("[") and "] " in line:
            return line[1:13]
    return None


def active_line(run_id: str, pid: int) -> str:
    return f"agentloop: run {run_id} is active in another process (pid {pid}); wait for it to end or stop it first"


def turns_of(db, run_id) -> list[tuple[int, str, str]]:
    rows, check = stored(db)
    assert check == "ok"
    return [(seq, role, json.loads(body)["output"]) for run, seq, role, body in rows if run == run_id]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_interrupts_the_run_killing_its_checks_and_resume_finishes_it(task, clis, tmp_path, signum):
    path, script = task
    write_script(script, solver=[BAD], critic=["c1", "c2"], refiner=[SLOW, GOOD])
    cli = clis("run", str(path), "--json", cwd=tmp_path)
    # the refiner's candidate is being checked: a sandboxed program is running
    assert cli.wait_for(lambda: any(" t2 critic" in line for line in cli.lines()) and sandboxed(cli.pid))
    cli.proc.send_signal(signum)
    rc, out, err = cli.finish(timeout=60)  # a hang guard: the check in flight would take 600 s
    run_id = cli_json(subprocess.CompletedProcess([], rc, out, err))["run_id"]
    assert rc == 3 and "Traceback" not in err
    messages = [line for line in err.splitlines() if line.startswith("agentloop:")]
    assert messages == [f"agentloop: interrupted; continue with `agentloop resume {run_id}`"]
    assert json.loads(out)["status"] == "interrupted" and json.loads(out)["turns"] == 2
    assert not sandboxed(cli.pid), "the check in flight was cancelled, its program killed"
    assert sandbox_folders(cli.pid) == [], "the sandbox folders were removed"

    shown = cli_json(run_cli("show", run_id, "--json", cwd=tmp_path))
    assert shown["status"] == "interrupted" and [t["id"] for t in shown["turns"]] == ["t1", "t2"]
    assert "INTERRUPTED" in run_cli("show", run_id, cwd=tmp_path).stdout

    write_script(script, solver=[BAD], critic=["c1", "c2"], refiner=[GOOD])
    resumed = run_cli("resume", run_id, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert cli_json(resumed)["status"] == "solved"
    db = tmp_path / ".agentloop" / "agentloop.db"
    assert turns_of(db, run_id) == [(1, "solver", BAD), (2, "critic", "c1"), (3, "refiner", GOOD)]


def test_one_live_process_per_run_and_a_killed_run_is_resumable_at_once(task, clis, tmp_path):
    path, script = task
    write_script(script, solver=[SLOW])
    first = clis("run", str(path), cwd=tmp_path)
    assert first.wait_for(lambda: sandboxed(first.pid))
    run_id = run_id_of(first)

    refused = run_cli("resume", run_id, cwd=tmp_path)  # the run is alive: refused, nothing written
    assert refused.returncode == 3 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [active_line(run_id, first.proc.pid)]

    first.kill()  # SIGKILL: the lock dies with the process
    racers = [clis("resume", run_id, cwd=tmp_path) for _ in range(2)]
    assert racers[0].wait_for(lambda: any(r.proc.poll() is not None for r in racers))
    [loser] = [r for r in racers if r.proc.poll() is not None]
    [winner] = [r for r in racers if r is not loser]
    rc, _, err = loser.finish()
    assert rc == 3 and err.splitlines() == [active_line(run_id, winner.proc.pid)]
    assert winner.wait_for(lambda: sandboxed(winner.pid)), "the winner is checking its candidate"
    assert any("resuming" in line for line in winner.lines())
    winner.proc.send_signal(signal.SIGTERM)
    assert winner.finish()[0] == 3

    write_script(script, solver=[GOOD])
    done = run_cli("resume", run_id, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert turns_of(tmp_path / ".agentloop" / "agentloop.db", run_id) == [(1, "solver", GOOD)]


def test_six_processes_write_one_store_at_once_losing_nothing(task, tmp_path):
    path, script = task
    replies = {"solver": [BAD], "critic": [f"c{i}" for i in range(5)], "refiner": [BAD] * 4 + [GOOD]}
    write_script(script, **replies)
    db = tmp_path / "shared" / "agentloop.db"
    for _ in range(2):  # the first round also creates the store from six processes at once
        procs = [subprocess.Popen([sys.executable, "-m", "agentloop.cli", "run", str(path), "--store", str(db),
                                   "--set", "strategy.max_turns=6", "--json"], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        outs = [p.communicate(timeout=300) for p in procs]
        for proc, (out, err) in zip(procs, outs):
            assert proc.returncode == 0, err
            assert "locked" not in err and "Traceback" not in err
            assert json.loads(out)["turns"] == 11
        ids = [json.loads(out)["run_id"] for out, _ in outs]
        for run_id in ids:
            turns = turns_of(db, run_id)
            assert [seq for seq, _, _ in turns] == list(range(1, 12))
            assert [out for _, role, out in turns if role == "refiner"] == replies["refiner"]
    rows, _ = stored(db)
    assert len(rows) == 2 * 6 * 11


def test_progress_lines_name_only_committed_turns(task, tmp_path):
    """The line for a turn is printed after its commit: each one names a turn the store holds."""
    path, script = task
    write_script(script, solver=[BAD], critic=["c1", "c2"], refiner=[BAD, GOOD])
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = [(m["turn"], m["role"]) for line in proc.stderr.splitlines() if (m := PROGRESS.match(line))]
    held = [(f"t{seq}", role) for seq, role, _ in turns_of(tmp_path / ".agentloop" / "agentloop.db",
                                                          cli_json(proc)["run_id"])]
    assert printed == held and len(held) == 5


async def test_a_run_cancelled_by_its_caller_is_recorded_interrupted_and_resumes(task, tmp_path):
    """Library use: cancellation from outside (here a timeout) propagates, and the run is left
    ``interrupted`` in the store, its sandboxed program killed, ready for ``aresume``."""
    path, script = task
    write_script(script, solver=[SLOW])
    db = tmp_path / "lib.db"
    run = asyncio.create_task(agentloop.arun(Task.from_yaml(path), store=db))
    for _ in range(3000):  # until the candidate's check is running (a hang guard, not a measurement)
        if sandboxed(os.getpid()):
            break
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not sandboxed(os.getpid())
    store = agentloop.Store(db)
    [record] = store.list_runs()
    store.close()
    assert record.status == "interrupted"
    write_script(script, solver=[GOOD])
    result = await agentloop.aresume(record.id, store=db)
    assert result.status == "solved" and [t.role for t in result.graph.turns()] == ["solver"]
