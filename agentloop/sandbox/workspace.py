"""Workspaces and executions: the orchestrator's view of the sandbox.

Each ``Workspace.run`` is a fresh process tree forked by the warm zygote and confined before the
candidate runs (see ``confine``). From out here: the wall deadline on a monotonic clock, each
output stream capped, the whole tree killed at the end (cgroup, uid or the zygote's orphan
sweep), and a classified result. The verdict of a check is never this module's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import stat
import sys
import time
from pathlib import Path

from . import bwrap, tree
from .client import ZygoteClient
from .common import (
    ARTIFACT_LIMIT,
    CHANNEL_LIMIT,
    EOF_GRACE_S,
    FILE_SIZE_LIMIT,
    MAX_PROCESSES,
    OPEN_FILES,
    OUTPUT_LIMIT,
    ExecResult,
    base_environment,
)

PID_TIMEOUT_S = 30.0


def fresh_uid() -> int:
    """A uid no account uses, one per execution: its process limit and kill are its own."""
    return 2_000_000 + secrets.randbelow(1 << 24)


class Workspace:
    """A private folder holding the candidate's files; each ``run`` is a fresh process tree."""

    def __init__(self, sandbox, root: Path) -> None:  # a Sandbox (circular import)
        self.sandbox = sandbox
        self.root = root
        self.workdir = root / "work"
        self.files: list[str] = []  # written by us: mounted read-only under bwrap

    def write(self, name: str, content: str) -> None:
        """Write a file into the work folder, owned by us and read-only to the candidate."""
        path = self.workdir / name
        path.write_text(content, encoding="utf-8")
        path.chmod(0o644)
        self.files.append(str(path))

    async def run(self, argv: list[str], *, timeout_s: float, memory_mb: int, stdin: bytes | None = None,
                  artifacts: tuple[str, ...] = (), import_workdir: bool = False,
                  channel: bytes | None = None) -> ExecResult:
        """Run ``argv`` in the work folder.

        ``import_workdir`` puts the work folder on ``PYTHONPATH``. ``channel``: open a report
        channel on descriptor 3 and hand these bytes (a nonce) to the process on descriptor 4.
        """
        sb = self.sandbox
        python = argv[0] == sys.executable
        uid = fresh_uid() if sb.separate_uid(python) else None
        env = {**base_environment(self.workdir), **({"PYTHONPATH": str(self.workdir)} if import_workdir else {})}
        cgroup = sb.new_cgroup()
        client: ZygoteClient = sb.client()
        limits = {"memory_bytes": (memory_mb << 20) + (client.vm_bytes if python else 0),
                  "cpu_s": int(timeout_s) + 1, "file_bytes": FILE_SIZE_LIMIT, "open_files": OPEN_FILES,
                  "processes": MAX_PROCESSES}
        conf = {"workdir": str(self.workdir), "limits": limits, "uid": uid, "landlock_abi": sb.landlock_abi,
                "cgroup": cgroup}
        started = time.monotonic()
        ex = _Execution(cgroup, uid, client)
        child_fds = ex.open_pipes(stdin, channel)
        request = {"argv": argv, "env": env, "conf": conf, "python": python}
        if sb.layer == "bwrap":
            request = _bwrapped(request, self)
        try:
            pending = client.submit(request, child_fds)
        except BaseException:
            ex.close_read_ends()
            if cgroup:
                tree.kill_cgroup(cgroup, remove=True)
            raise
        finally:
            for fd in child_fds:
                os.close(fd)
        sb.live.add(ex)
        try:
            status, flags = await ex.wait(pending, timeout_s, stdin)
        finally:
            ex.kill()
            sb.live.discard(ex)
            await ex.drain()
            if cgroup:
                tree.kill_cgroup(cgroup, remove=True)
        rc = os.waitstatus_to_exitcode(status) if status is not None else None
        err = ex.err.decode("utf-8", "replace")
        return ExecResult(status=_classify(rc, flags, err), returncode=rc, stdout=ex.out.decode("utf-8", "replace"),
                          stderr=err, duration_s=round(time.monotonic() - started, 4),
                          artifacts={n: b for n in artifacts if (b := _read_artifact(self.workdir / n)) is not None},
                          channel=bytes(ex.chan), isolation=sb.describe(python, uid))


class _Execution:
    """The pipes, buffers and process identity of one execution."""

    def __init__(self, cgroup: str | None, uid: int | None, client: ZygoteClient) -> None:
        self.cgroup, self.uid, self.client = cgroup, uid, client
        self.pid: int | None = None
        self.out, self.err, self.chan = bytearray(), bytearray(), bytearray()
        self.flags: set[str] = set()
        self._ours: list[tuple[int, bytearray, int]] = []  # read ends: fd, buffer, cap
        self._stdin_w: int | None = None
        self._pumps: asyncio.Future | None = None
        self._readers: list[_Reader] = []

    def open_pipes(self, stdin: bytes | None, channel: bytes | None) -> list[int]:
        """Make the pipes; returns the child's ends in descriptor order 0, 1, 2[, 3, 4]."""
        if stdin is not None:
            in_r, self._stdin_w = os.pipe2(os.O_CLOEXEC)
        else:
            in_r = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self._ours = [(out_r, self.out, OUTPUT_LIMIT), (err_r, self.err, OUTPUT_LIMIT)]
        fds = [in_r, out_w, err_w]
        if channel is not None:
            ch_r, ch_w = os.pipe2(os.O_CLOEXEC)
            key_r, key_w = os.pipe2(os.O_CLOEXEC)
            os.write(key_w, channel)
            os.close(key_w)
            self._ours.append((ch_r, self.chan, CHANNEL_LIMIT))
            fds += [ch_w, key_r]
        return fds

    async def wait(self, pending, timeout_s: float, stdin: bytes | None) -> tuple[int | None, set[str]]:
        """Wait for the exit within the deadline; returns the wait status (None if lost) and flags."""
        loop = asyncio.get_running_loop()
        self._readers = [_Reader(loop, fd, buf, cap, self._overflow) for fd, buf, cap in self._ours]
        self._pumps = asyncio.gather(*(reader.done for reader in self._readers))
        if self._stdin_w is not None:
            fd, self._stdin_w = self._stdin_w, None
            asyncio.get_running_loop().run_in_executor(None, _feed, fd, stdin or b"")
        # asyncio.timeout rather than wait_for: no extra task per await, on the hot path of every check
        async with asyncio.timeout(PID_TIMEOUT_S):
            self.pid = await pending.pid
        try:
            async with asyncio.timeout(timeout_s):
                status = await asyncio.shield(pending.status)
        except TimeoutError:
            self.flags.add("timeout")
            self.kill()
            status = await asyncio.wait_for(pending.status, PID_TIMEOUT_S)
        return status, self.flags

    def _overflow(self) -> None:
        self.flags.add("output_limit")
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole tree: its group, then its cgroup or uid, else the zygote's orphans."""
        if self._stdin_w is not None:
            os.close(self._stdin_w)
            self._stdin_w = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup:
            tree.kill_cgroup(self.cgroup)
        elif self.uid is not None:
            tree.kill_uid(self.uid)
        else:
            self.client.sweep()

    def close_read_ends(self) -> None:
        """Close our pipe ends when no pump took them over."""
        for fd, _, _ in self._ours:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._stdin_w is not None:
            os.close(self._stdin_w)
            self._stdin_w = None

    async def drain(self) -> None:
        """Wait briefly for the pipes to close, then stop reading regardless."""
        if self._pumps is None:
            self.close_read_ends()
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._pumps), EOF_GRACE_S)
        except (TimeoutError, asyncio.CancelledError):
            for reader in self._readers:  # a pipe still held open (by nothing we could kill): stop reading
                reader.close()


class _Reader:
    """Reads one pipe into a capped buffer straight from the event loop's readiness callback.

    No transport, protocol or task per pipe: on the path of every check, with two or three pipes
    each, those cost more than the reading.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, buf: bytearray, cap: int, on_overflow) -> None:
        self.loop, self.fd, self.buf, self.cap, self.on_overflow = loop, fd, buf, cap, on_overflow
        self.done: asyncio.Future = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        room = self.cap - len(self.buf)
        self.buf += chunk[:max(room, 0)]
        if len(chunk) > room:
            self.close()
            self.on_overflow()

    def close(self) -> None:
        """Stop reading and close the pipe (at its end, on overflow, or when the grace period ran out)."""
        if self.done.done():
            return
        self.loop.remove_reader(self.fd)
        os.close(self.fd)
        self.done.set_result(None)


def _bwrapped(request: dict, ws: Workspace) -> dict:
    """The same execution, launched through bubblewrap; the inner half confines and runs it."""
    inner = [sys.executable, "-s", "-P", "-m", "agentloop.sandbox.inner", json.dumps(request["conf"]),
             json.dumps(request["argv"]), json.dumps(request["env"]), "1" if request["python"] else "0"]
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**request["env"], "PYTHONPATH": os.pathsep.join(filter(None, [here, request["env"].get("PYTHONPATH")]))}
    return {**request, "argv": bwrap.argv(str(ws.workdir), ws.files, inner), "env": env, "python": False,
            "outer": True}


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view[:65536]):]
    except OSError:  # the program exited or closed its stdin: the rest is not wanted
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _classify(rc: int | None, flags: set[str], stderr: str) -> str:
    if "timeout" in flags or rc == -signal.SIGXCPU:
        return "timeout"
    if "output_limit" in flags:
        return "output_limit"
    if rc is None:
        return "signal"
    if rc != 0 and ("MemoryError" in stderr[-4000:] or "std::bad_alloc" in stderr[-4000:]):
        return "memory"
    if rc < 0:
        return "signal"
    return "ok" if rc == 0 else "exit"


def _read_artifact(path: Path) -> bytes | None:
    # O_NOFOLLOW and a regular-file check: a planted symlink must not leak another file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > ARTIFACT_LIMIT:
            return None
        return fh.read(ARTIFACT_LIMIT)
