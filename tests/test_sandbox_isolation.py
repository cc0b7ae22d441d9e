"""Layer A (and B where bubblewrap works): what confinement each execution actually gets."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from agentloop.sandbox import Sandbox, python_argv
from agentloop.sandbox import bwrap as bwrap_layer
from agentloop.sandbox.box import base_dir, clean_stale

LAYERS = ["process", pytest.param("bwrap", marks=pytest.mark.skipif(
    not bwrap_layer.available(), reason=f"Layer B unavailable: {bwrap_layer.why_unavailable()}"))]


@pytest.fixture(params=LAYERS)
async def sandbox(request):
    box = Sandbox(isolation=request.param)
    yield box
    box.close()


async def run(box, code: str, timeout_s: float = 5, **kw):
    async with box.workspace({"prog.py": code}) as ws:
        return await ws.run(python_argv("prog.py"), timeout_s=timeout_s, memory_mb=256, **kw)


def _processes_matching(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


async def test_writes_outside_the_workdir_are_refused(sandbox, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    os.chmod(tmp_path, 0o777)
    code = (f"import os\nfor p in ({str(canary)!r}, '/tmp/agentloop-escape', os.path.expanduser('~/../escape')):\n"
            "    try:\n        open(p, 'w').write('pwned')\n        print('WROTE', p)\n"
            "    except OSError as e:\n        print('refused', type(e).__name__)\n"
            "open('inside.txt', 'w').write('fine')\nprint(open('inside.txt').read())")
    result = await run(sandbox, code)
    assert "WROTE" not in result.stdout and result.stdout.count("refused") == 3, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("fine")
    assert canary.read_text() == "untouched" and not os.path.exists("/tmp/agentloop-escape")


async def test_no_tcp_out_or_on_loopback(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('refused', e)\n")
    result = await run(sandbox, code)
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    assert "CONNECTED" not in result.stdout and "refused" in result.stdout


async def test_the_candidate_cannot_signal_the_orchestrator(sandbox):
    code = f"import os, signal\ntry:\n    os.kill({os.getpid()}, signal.SIGTERM)\n    print('SENT')\nexcept OSError as e:\n    print('refused')\n"
    result = await run(sandbox, code)
    assert "SENT" not in result.stdout


async def test_no_capabilities_and_no_new_privileges(sandbox):
    code = ("for line in open('/proc/self/status'):\n"
            "    if line.startswith(('CapEff', 'CapPrm', 'NoNewPrivs', 'Uid')): print(line.strip())\n")
    result = await run(sandbox, code)
    status = dict(line.split(":\t", 1) for line in result.stdout.splitlines())
    assert status["CapEff"] == "0000000000000000" and status["CapPrm"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"


async def test_setsid_grandchild_is_killed_with_the_run(sandbox):
    marker = f"agentloop-orphan-{time.monotonic_ns()}"
    code = (f"import os, time, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execvp('sleep', ['{marker}', '30'])\n    os._exit(0)\nprint('parent done')\n")
    async with sandbox.workspace({"prog.py": code}) as ws:
        result = await ws.run(python_argv("prog.py"), timeout_s=10, memory_mb=256)
    assert result.status == "ok"
    deadline = time.monotonic() + 2
    while _processes_matching(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_matching(marker) == []


async def test_fork_storm_is_bounded_and_cleaned(sandbox):
    code = ("import os, time\nn = 0\nfor _ in range(5000):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(30); os._exit(0)\n        n += 1\n    except OSError:\n        break\n"
            "print('forked', n)\n")
    result = await run(sandbox, code, timeout_s=10)
    forked = int(result.stdout.split()[-1]) if "forked" in result.stdout else 0
    assert forked < 1000, result.stdout


async def test_every_result_records_its_isolation(sandbox):
    result = await run(sandbox, "print(1)")
    assert result.isolation.startswith(sandbox.layer) and "landlock" in result.isolation


async def test_missing_bubblewrap_falls_back_loudly(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    bwrap_layer._self_test.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="falling back"):
            box = Sandbox(isolation="bwrap")
        assert box.layer == "process" and "not found" in box.fallback and "bwrap unavailable" in box.describe()
        box.close()
    finally:
        bwrap_layer._self_test.cache_clear()


def test_stale_sandboxes_of_dead_runs_are_removed(tmp_path):
    base = base_dir(tmp_path)
    dead = base / "12345-deadbeef"
    dead.mkdir()
    (dead / ".lock").write_text("")
    (dead / "leftover").write_text("x")
    os.utime(dead, (time.time() - 3600, time.time() - 3600))
    alive = Sandbox(tmp_path)  # holds its own lock: must survive another sandbox's cleanup
    os.utime(alive.root, (time.time() - 3600, time.time() - 3600))
    assert not dead.exists() and alive.stale_removed >= 1
    assert clean_stale(base, None) == 0 and alive.root.exists()
    alive.close()


async def test_many_concurrent_executions_share_one_warm_zygote():
    box = Sandbox()
    pids = set()

    async def one(i):
        r = await run(box, f"import os\nprint(os.getppid(), {i})")
        pids.add(r.stdout.split()[0])
        return r
    results = await asyncio.gather(*(one(i) for i in range(24)))
    box.close()
    assert all(r.ok for r in results) and len(pids) == 1  # every execution forked by the same zygote


def test_the_orchestrator_is_not_dumpable():
    import ctypes
    Sandbox().close()
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE: /proc/<pid>/environ is not readable


def test_kill_9_of_the_orchestrator_takes_every_sandboxed_process_with_it(tmp_path):
    import signal
    import subprocess
    import sys
    marker = f"agentloop-k9-{time.monotonic_ns()}"
    candidate = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n"
                 f"    os.execvp('sleep', ['{marker}', '60'])\ntime.sleep(60)\n")
    script = tmp_path / "orchestrator.py"
    script.write_text(
        "import asyncio\nfrom agentloop.sandbox import Sandbox, python_argv\n"
        "async def main():\n    box = Sandbox()\n"
        f"    async with box.workspace({{'prog.py': {candidate!r}}}) as ws:\n"
        "        await ws.run(python_argv('prog.py'), timeout_s=60, memory_mb=256)\n"
        "asyncio.run(main())\n")
    proc = subprocess.Popen([sys.executable, str(script)])
    deadline = time.monotonic() + 60
    while not _processes_matching(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_matching(marker), "the candidate never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = time.monotonic()
    while _processes_matching(marker) and time.monotonic() - killed_at < 5:
        time.sleep(0.05)
    assert _processes_matching(marker) == []
    assert time.monotonic() - killed_at < 2  # well inside the wall limit plus one second
