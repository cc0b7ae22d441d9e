"""Hostile candidates that attack resources: time, processes, memory, stack, file descriptors.

Each runs through the real pipeline (``agentloop run --json``, scripted model, real sandbox) at
every available isolation layer; see hostile_kit for what "survived" checks.
"""

from __future__ import annotations

import secrets

import pytest
from helpers import FIZZ_TESTS
from hostile_kit import (
    FIZZ_CASES,
    assert_survived,
    descendants,
    hostile_task,
    kill_strays,
    new_descendants,
    new_sandbox,
    run_pipeline,
    stray_processes,
    warm_up,
)

from agentloop.sandbox import python_argv

RUN = [{"kind": "run", "cases": FIZZ_CASES}]
TESTS = [{"kind": "tests", "code": FIZZ_TESTS}]

INFINITE_LOOP = "while True:\n    pass\n"
SIGTERM_IGNORED = """
import signal, time
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):
    signal.signal(sig, signal.SIG_IGN)
while True:
    time.sleep(0.1)
"""
# bounded on purpose: 2**7 = 128 processes, each of which ignores SIGTERM and sleeps
FORK_STORM = """
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for _ in range(7):
    try:
        os.fork()
    except OSError:
        pass
time.sleep(600)
"""
MEMORY_AT_ONCE = "x = bytearray(4 * 1024 ** 3)\nprint(len(x))\n"
MEMORY_GRADUAL = """
chunks = []
while True:
    chunks.append(b"x" * (16 << 20))  # bytes are written, so the pages are really touched
"""
DEEP_RECURSION = """
import sys
sys.setrecursionlimit(10 ** 9)
def down(n):
    return down(n + 1) + 1
down(0)
"""
FD_EXHAUSTION = """
import os, socket
held = []
for make in (lambda: [os.open("/dev/null", os.O_RDONLY)], lambda: list(os.pipe()),
             lambda: [socket.socket().detach()]):
    try:
        while True:
            held += make()
    except OSError:
        pass

def fizzbuzz(n):
    return str(n)
"""
# the grandchild leaves the session and the folder behind, then sleeps for ever (as sh and sleep,
# both carrying TOKEN in their environment so a /proc scan can find them wherever they end up)
SETSID_GRANDCHILD = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        os.execve("/bin/sh", ["sh", "-c", "sleep 100000; :", "TOKEN"], {"MARK": "TOKEN"})
    os._exit(0)
os.wait()
print("not fizz")
"""


@pytest.mark.parametrize("candidate, allowed", [
    pytest.param(INFINITE_LOOP, {"timeout"}, id="infinite-loop"),
    pytest.param(SIGTERM_IGNORED, {"timeout"}, id="sigterm-ignored"),
    pytest.param(FORK_STORM, {"timeout", "exit", "signal"}, id="fork-storm"),
    pytest.param(MEMORY_AT_ONCE, {"exit", "signal", "memory"}, id="memory-at-once"),
    pytest.param(MEMORY_GRADUAL, {"exit", "signal", "memory"}, id="memory-gradual"),
    pytest.param(DEEP_RECURSION, {"exit", "signal", "memory", "timeout"}, id="deep-recursion"),
])
def test_resource_attack_is_classified_and_survived(layer, tmp_path, candidate, allowed):
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, feedback=RUN)
    assert_survived(run_pipeline(task), layer=layer, allowed=allowed)


def test_fd_exhaustion_at_import_fails_the_tests(layer, tmp_path):
    task = hostile_task(tmp_path / "task", layer=layer, candidate=FD_EXHAUSTION, feedback=TESTS)
    out = run_pipeline(task)
    assert_survived(out, layer=layer)


def test_setsid_grandchild_does_not_outlive_the_run(layer, tmp_path):
    token = f"sec-{secrets.token_hex(6)}"
    task = hostile_task(tmp_path / "task", layer=layer, candidate=SETSID_GRANDCHILD.replace("TOKEN", token),
                        feedback=RUN)
    out = run_pipeline(task)
    out.stray += stray_processes(tmp_path, token)
    assert_survived(out, layer=layer, allowed={"ok", "exit", "timeout"})


async def test_setsid_grandchild_is_gone_when_run_returns(layer):
    """Through the Sandbox API: the orphan must be dead when ``run`` returns, not only at ``close``."""
    token = f"sec-{secrets.token_hex(6)}"
    box = new_sandbox(layer)
    try:
        await warm_up(box)
        before = descendants()
        async with box.workspace({"prog.py": SETSID_GRANDCHILD.replace("TOKEN", token)}) as ws:
            result = await ws.run(python_argv("prog.py"), timeout_s=3, memory_mb=256)
            assert result.duration_s <= 3 + 1
            assert "not fizz" in result.stdout
            assert stray_processes(box.root, token) == []
            assert new_descendants(before) == []
        async with box.workspace({}) as ws:  # the next run works
            again = await ws.run(python_argv("-c", "print('next')"), timeout_s=3, memory_mb=256)
        assert again.ok and again.stdout == "next\n"
    finally:
        box.close()
        leftover = stray_processes(box.root, token)
        kill_strays(box.root, token)
    assert leftover == []


async def test_fork_storm_through_the_api_leaves_nothing(layer):
    token = f"sec-{secrets.token_hex(6)}"
    storm = FORK_STORM.replace("time.sleep(600)", f"os.execve('/bin/sh', ['sh', '-c', 'sleep 600; :', {token!r}], "
                               f"{{'MARK': {token!r}}})")
    box = new_sandbox(layer)
    try:
        await warm_up(box)
        before = descendants()
        async with box.workspace({"prog.py": storm}) as ws:
            result = await ws.run(python_argv("prog.py"), timeout_s=2, memory_mb=256)
        assert result.status in {"timeout", "exit", "signal"} and result.duration_s <= 2 + 1
        assert stray_processes(box.root, token) == []
        assert new_descendants(before) == []
    finally:
        box.close()
        kill_strays(box.root, token)
