"""The sandbox: every limit classifies the result instead of hanging or crashing the orchestrator."""

from __future__ import annotations

import os
import time

import pytest

from agentloop.sandbox import OUTPUT_LIMIT, Sandbox, python_argv


@pytest.fixture
async def sandbox():
    box = Sandbox()
    yield box
    box.close()
    assert not box.root.exists()


async def run_py(sandbox, code: str, **kw):
    kw.setdefault("timeout_s", 5)
    kw.setdefault("memory_mb", 256)
    async with sandbox.workspace({"prog.py": code}) as ws:
        return await ws.run(python_argv("prog.py"), **kw)


async def test_plain_program_runs_and_reads_stdin(sandbox):
    result = await run_py(sandbox, "import sys; print(sys.stdin.read().upper())", stdin=b"abc")
    assert result.status == "ok" and result.stdout == "ABC\n"


async def test_non_zero_exit_is_classified(sandbox):
    result = await run_py(sandbox, "import sys; sys.exit(3)")
    assert (result.status, result.returncode) == ("exit", 3)


async def test_infinite_loop_hits_the_wall_deadline(sandbox):
    started = time.monotonic()
    result = await run_py(sandbox, "while True: pass", timeout_s=1)
    assert result.status == "timeout"
    assert time.monotonic() - started < 1 + 1.5


async def test_sigterm_ignoring_sleeper_is_killed(sandbox):
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)"
    result = await run_py(sandbox, code, timeout_s=1)
    assert result.status == "timeout"


async def test_output_flood_is_capped_and_stopped(sandbox):
    result = await run_py(sandbox, "import os\nwhile True: os.write(1, b'x' * 65536)")
    assert result.status == "output_limit"
    assert len(result.stdout) == OUTPUT_LIMIT


async def test_memory_bomb_fails_inside_the_limit(sandbox):
    result = await run_py(sandbox, "x = bytearray(2 * 1024 ** 3)", memory_mb=256)
    assert result.status == "memory" and "MemoryError" in result.stderr


async def test_setsid_grandchild_does_not_hold_the_run_open(sandbox):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(3)\n    os._exit(0)\n"
            "print('parent done')")
    started = time.monotonic()
    result = await run_py(sandbox, code, timeout_s=10)
    assert result.status == "ok" and "parent done" in result.stdout
    assert time.monotonic() - started < 2.5  # not the grandchild's 3 s, nor the 10 s deadline


async def test_environment_is_an_allowlist(sandbox, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    result = await run_py(sandbox, "import os; print(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in result.stdout
    assert "sk-secret" not in result.stdout


async def test_each_workspace_is_fresh_and_removed(sandbox):
    async with sandbox.workspace({"a.txt": "1"}) as ws:
        first = ws.workdir
        (ws.workdir / "left_behind").write_text("x")
    assert not first.exists()
    result = await run_py(sandbox, "import os; print(sorted(os.listdir('.')))")
    assert result.stdout.strip() == "['prog.py']"


async def test_binary_output_is_decoded_not_fatal(sandbox):
    result = await run_py(sandbox, "import os; os.write(1, bytes(range(256)))")
    assert result.status == "ok" and len(result.stdout) > 200


async def test_artifacts_refuse_symlinks(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    async with sandbox.workspace({}) as ws:
        os.symlink(secret, ws.workdir / "junit.xml")
        result = await ws.run(python_argv("-c", "pass"), timeout_s=5, memory_mb=256, artifacts=("junit.xml",))
    assert result.artifacts == {}
