"""Pre-forked sandbox children: a check runs in a child that was waiting for it, one child per job.

The zygote keeps ``SPARES`` children forked and partly confined ahead of demand, and a sandbox keeps
empty workspaces made ahead. These tests check what a user relies on: a job lands in such a child,
under a uid no other job had, at normal priority, sees nothing of the job before it, the pool
refills, a dead zygote takes its waiting children (and the checks in flight) with it, and a used
workspace vanishes at once while the next one was made ahead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from agentloop.errors import SandboxError
from agentloop.sandbox import Sandbox, python_argv, tree
from agentloop.sandbox.zygote import SPARES

SETTLE_S = 60.0  # how long an expected state may take to appear on a loaded machine (not a speed limit)


@pytest.fixture
async def sandbox():
    box = Sandbox()
    yield box
    box.close()


async def run_py(sandbox: Sandbox, code: str, **kw):
    kw.setdefault("timeout_s", 10)
    kw.setdefault("memory_mb", 256)
    async with sandbox.workspace({"prog.py": code}) as ws:
        return await ws.run(python_argv("prog.py"), **kw)


def eventually(predicate, timeout_s: float = SETTLE_S) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def waiting_children(sandbox: Sandbox) -> set[int]:
    """The zygote's children once its pool is full (no job runs meanwhile, so all are spares)."""
    zygote = sandbox.client().pid
    assert eventually(lambda: len(tree.children_of(zygote)) == SPARES), tree.children_of(zygote)
    return set(tree.children_of(zygote))


async def test_a_check_runs_in_a_child_forked_before_it_was_asked_for(sandbox):
    await run_py(sandbox, "pass")  # the zygote is up
    waiting = waiting_children(sandbox)
    result = await run_py(sandbox, "import os; print(os.getpid())")
    assert result.ok, result.stderr
    assert int(result.stdout) in waiting


LEAVE = """import builtins, json, os, sys
builtins.LEFT = json.LEFT = 1
sys.modules["left_behind"] = json
os.environ["LEFT"] = "1"
sys.path.append("/left")
open("mark", "w").write("x")
print(os.getuid())
"""
LOOK = """import builtins, json, os, sys
leaks = [hasattr(builtins, "LEFT"), hasattr(json, "LEFT"), "left_behind" in sys.modules, "LEFT" in os.environ,
         "/left" in sys.path, os.path.exists("mark"), "candidate" in globals(), "Probe" in globals()]
print(os.getuid(), any(leaks))
"""


async def test_each_job_has_a_fresh_uid_and_sees_nothing_of_the_one_before(sandbox):
    uids = []
    for _ in range(SPARES + 2):  # more jobs than spares: refilled children serve too
        left = await run_py(sandbox, LEAVE)
        looked = await run_py(sandbox, LOOK)
        assert left.ok and looked.ok, (left.stderr, looked.stderr)
        uid, leaked = looked.stdout.split()
        assert leaked == "False"
        uids += [int(left.stdout), int(uid)]
    if os.geteuid() == 0:
        assert 0 not in uids and len(set(uids)) == len(uids)


async def test_the_pool_refills_after_jobs_take_its_children(sandbox):
    first = waiting_children(sandbox)
    results = await asyncio.gather(*(run_py(sandbox, "print(1)") for _ in range(SPARES + 1)))
    assert all(r.ok for r in results)
    again = waiting_children(sandbox)
    assert not first & again  # each served one job and exited; these are new


async def test_a_killed_zygote_takes_its_waiting_children_with_it(sandbox):
    waiting = waiting_children(sandbox)
    os.kill(sandbox.client().pid, signal.SIGKILL)
    assert eventually(lambda: not any(alive(pid) for pid in waiting))
    result = await run_py(sandbox, "print('again')")  # a fresh zygote serves the next check
    assert result.ok and result.stdout == "again\n"


async def test_a_killed_zygote_ends_the_check_in_flight_with_sandbox_error(sandbox):
    waiting_children(sandbox)
    zygote = sandbox.client().pid
    code = "import os, time\nopen('started', 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    async with sandbox.workspace({"prog.py": code}) as ws:
        check = asyncio.ensure_future(ws.run(python_argv("prog.py"), timeout_s=120, memory_mb=256))
        started = ws.workdir / "started"
        assert await asyncio.to_thread(eventually, lambda: started.exists() and started.read_text() != "")
        os.kill(zygote, signal.SIGKILL)
        with pytest.raises(SandboxError):
            await check
        job = int(started.read_text())
    assert eventually(lambda: not alive(job))


async def test_a_job_runs_at_normal_priority_though_its_child_prepared_at_idle(sandbox):
    waiting_children(sandbox)
    result = await run_py(sandbox, "import os; print(os.sched_getscheduler(0) == os.SCHED_OTHER, os.nice(0))")
    assert result.ok and result.stdout.split() == ["True", str(os.nice(0))]


async def test_workspaces_are_made_ahead_and_used_ones_vanish_at_once(sandbox):
    async with sandbox.workspace({"a.txt": "1"}) as ws:
        (ws.workdir / "left_behind").write_text("x")
        used = ws.root
    assert not used.exists()  # renamed out of sight before the context ends; deleted in the background
    made = lambda: {p for p in sandbox.root.iterdir() if p.is_dir() and not p.name.startswith(".")}  # noqa: E731
    assert eventually(lambda: len(made()) >= 1)
    ahead = made()
    async with sandbox.workspace({"b.txt": "2"}) as ws:
        assert ws.root in ahead  # one made before it was asked for
        assert sorted(os.listdir(ws.workdir)) == ["b.txt"]  # and it holds nothing but this job's files
    assert eventually(lambda: not [p for p in sandbox.root.iterdir() if p.name.startswith(".trash")])
