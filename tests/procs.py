"""Process bookkeeping for durability tests: the CLI as a live subprocess, and /proc scans for the
sandboxed programs it started (importable as ``procs``: tests/ is on pythonpath).

A process's sandbox folder is ``<tmp>/agentloop-sandbox-<euid>/<pid>-<token>``; its executions
run there, and its zygote is its child, so "the sandbox processes of pid P" are P's descendants
plus whatever runs in (or names) a folder of P's.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SANDBOX_BASE = Path(tempfile.gettempdir()) / f"agentloop-sandbox-{os.geteuid()}"
PROGRESS = re.compile(r"^\[(?P<run>[0-9a-f]{12})\] (?P<turn>t\d+) (?P<role>[a-z_]+)(?! \(already finished)")


class LiveCli:
    """``agentloop ARGS`` running in the background; stderr lines are collected as they arrive."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AGENTLOOP_STORE", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "agentloop.cli", *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        """The CLI's process id (its sandbox folders are named after it)."""
        return self.proc.pid

    def lines(self) -> list[str]:
        """The stderr lines read so far."""
        with self._lock:
            return list(self._lines)

    def wait_for(self, predicate, timeout: float = 60) -> bool:
        """Poll until ``predicate()`` holds or the process ends; a hang guard, not a measurement."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return bool(predicate())
            time.sleep(0.02)
        return False

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """Wait for the exit; (returncode, stdout, stderr)."""
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.proc.returncode, out, "\n".join(self.lines())

    def kill(self) -> None:
        """SIGKILL the CLI process (only it: what it started is on its own)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])  # state, ppid


def alive(pid: int) -> bool:
    """True for a process that exists and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` right now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def zygote_of(pid: int) -> int | None:
    """The sandbox worker: ``pid``'s child running the zygote (its forks share its command line)."""
    for child in descendants(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if (_stat(child) or ("", 0))[1] == pid and b"agentloop.sandbox.zygote" in cmd:
            return child
    return None


def sandboxed(pid: int) -> set[int]:
    """Live processes running in, or naming, a sandbox folder of process ``pid``."""
    prefix, found = f"{SANDBOX_BASE}/{pid}-", set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if (cwd.startswith(prefix) or prefix in cmdline) and alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def sandbox_folders(pid: int) -> list[Path]:
    """The sandbox folders of process ``pid`` that still exist."""
    return sorted(SANDBOX_BASE.glob(f"{pid}-*"))


def kill_all(pids: set[int]) -> None:
    """Clean up after a test: SIGKILL each process (and its group, where it leads one)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stored(db: Path) -> tuple[list[tuple[str, int, str, str]], str]:
    """(run, seq, role, turn_json) of every stored turn, and ``PRAGMA integrity_check``."""
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        try:
            rows = conn.execute("SELECT run_id, seq, role, turn_json FROM turns ORDER BY run_id, seq").fetchall()
        except sqlite3.OperationalError:  # killed before the tables were created
            rows = []
    return rows, check


class CliFactory:
    """Starts ``LiveCli`` processes for one test and, at teardown, kills what they left running."""

    def __init__(self) -> None:
        self.started: list[LiveCli] = []

    def __call__(self, *args: str, cwd: Path) -> LiveCli:
        cli = LiveCli(*args, cwd=cwd)
        self.started.append(cli)
        return cli

    def cleanup(self) -> None:
        """SIGKILL every CLI still running and every sandboxed process of theirs."""
        for cli in self.started:
            if cli.proc.poll() is None:
                cli.kill()
            kill_all(sandboxed(cli.pid))


def describe(pid: int) -> str:
    """``pid: command line`` for a failure message."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmd = "?"
    return f"{pid}: {cmd[:160]}"
