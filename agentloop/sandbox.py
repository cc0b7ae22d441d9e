"""Running untrusted code: a fresh process tree per execution, bounded in time, memory and output.

Layer A of the sandbox (hardening with a separate uid, Landlock and bubblewrap comes later):
a new session so the whole process group can be killed, rlimits set in the child before exec,
an environment from an allowlist (no API keys reach a candidate), stdin from /dev/null unless
given, its own temporary folder, a wall deadline enforced from outside on a monotonic clock, and
each output stream capped. The verdict of a check is never this module's business: it returns
what happened, classified, and the feedback kind decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_LIMIT = 1 << 20  # bytes kept per stream
ARTIFACT_LIMIT = 4 << 20
FILE_SIZE_LIMIT = 64 << 20
OPEN_FILES = 256
EOF_GRACE_S = 0.5  # a setsid grandchild can hold the pipes open after the main child exits


@dataclass(frozen=True)
class ExecResult:
    """What one execution did. ``status`` is ok, exit (non-zero), signal, timeout or output_limit."""

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    artifacts: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the program exited 0 within every limit."""
        return self.status == "ok"


def python_argv(*args: str) -> list[str]:
    """argv for this interpreter, isolated: no user site (-s), no script or cwd path prepended (-P).

    Not ``-I``: its ``-E`` would also drop PYTHONHASHSEED, and hash randomisation made
    hypothesis's derandomized shrinking return a different counterexample on every run. The
    environment is an allowlist built here, so honouring it cannot let a PYTHON* variable in.
    """
    return [sys.executable, "-s", "-P", *args]


def _limits(memory_mb: int, cpu_s: int):
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _environment(workdir: Path) -> dict[str, str]:
    # an allowlist, never a copy of os.environ: API keys and tokens must not reach candidates
    path_dirs = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path_dirs)),
        "HOME": str(workdir), "TMPDIR": str(workdir), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MALLOC_ARENA_MAX": "2",
    }


async def _exited(pid: int) -> None:
    """Return once process ``pid`` has exited (a pidfd turns readable), whoever reaps it."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # already exited and reaped by asyncio's child watcher
        return
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def _returncode(proc: asyncio.subprocess.Process) -> int:
    """The exit status as asyncio's child watcher reaped it, then our pipe ends closed.

    Closing the transport before the watcher has recorded the status would make it reap the
    child itself, and the watcher would then report 255: a wrong status, never acceptable here.
    """
    for _ in range(2000):  # the watcher records it within milliseconds of the exit
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.005)
    proc._transport.close()  # type: ignore[attr-defined]  # wakes wait() despite a held pipe
    return await asyncio.wait_for(proc.wait(), 10)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _pump(stream: asyncio.StreamReader, buf: bytearray, on_overflow) -> None:
    while chunk := await stream.read(65536):
        room = OUTPUT_LIMIT - len(buf)
        buf += chunk[:max(room, 0)]
        if len(chunk) > room:
            on_overflow()
            return


def _read_artifact(path: Path) -> bytes | None:
    # O_NOFOLLOW and a regular-file check: a planted symlink must not leak another file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > ARTIFACT_LIMIT:
            return None
        return fh.read(ARTIFACT_LIMIT)


class Workspace:
    """A temporary folder holding the candidate's files; each ``run`` is a fresh process tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = root / "work"
        self.report_dir = root / "report"

    def write(self, name: str, content: str) -> None:
        """Write a file into the work folder (names are chosen by feedback kinds, not by models)."""
        (self.workdir / name).write_text(content, encoding="utf-8")

    async def run(self, argv: list[str], *, timeout_s: float, memory_mb: int, stdin: bytes | None = None,
                  artifacts: tuple[str, ...] = (), import_workdir: bool = False) -> ExecResult:
        """Run ``argv`` in the work folder; ``{report}`` in argv becomes the report folder.

        ``import_workdir`` puts the work folder on ``PYTHONPATH`` (for a pytest plugin module there).
        """
        argv = [a.replace("{report}", str(self.report_dir)) for a in argv]
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self.workdir,
            env={**_environment(self.workdir), **({"PYTHONPATH": str(self.workdir)} if import_workdir else {})},
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True, preexec_fn=_limits(memory_mb, int(timeout_s) + 1))
        out, err, flags = bytearray(), bytearray(), set()

        def overflow() -> None:
            flags.add("output_limit")
            _kill_group(proc.pid)

        pumps = asyncio.gather(_pump(proc.stdout, out, overflow), _pump(proc.stderr, err, overflow))
        feeder = asyncio.create_task(self._feed(proc, stdin))
        try:
            # not proc.wait(): asyncio's waits for the pipes to close too, which a grandchild can delay
            await asyncio.wait_for(_exited(proc.pid), timeout_s)
        except TimeoutError:
            flags.add("timeout")
        finally:
            _kill_group(proc.pid)
            feeder.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(pumps), EOF_GRACE_S)
        except TimeoutError:
            pumps.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumps
        rc = await _returncode(proc)
        return ExecResult(status=_classify(rc, flags), returncode=rc,
                          stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
                          duration_s=round(time.monotonic() - started, 4),
                          artifacts={n: b for n in artifacts if (b := _read_artifact(self.report_dir / n)) is not None})

    @staticmethod
    async def _feed(proc: asyncio.subprocess.Process, data: bytes | None) -> None:
        if data is None or proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(data)
            await proc.stdin.drain()
            proc.stdin.close()


def _classify(rc: int, flags: set[str]) -> str:
    if "timeout" in flags:
        return "timeout"
    if "output_limit" in flags:
        return "output_limit"
    if rc < 0:
        return "signal"
    return "ok" if rc == 0 else "exit"


class Sandbox:
    """Hands out workspaces under one private temporary root, removed by ``close``."""

    def __init__(self, parent: str | Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="agentloop-", dir=parent))
        self._count = 0

    @contextlib.asynccontextmanager
    async def workspace(self, files: dict[str, str]) -> AsyncIterator[Workspace]:
        """A fresh folder holding ``files``; removed afterwards."""
        self._count += 1
        ws = Workspace(self.root / f"exec-{self._count}")
        ws.workdir.mkdir(parents=True)
        ws.report_dir.mkdir()
        for name, content in files.items():
            ws.write(name, content)
        try:
            yield ws
        finally:
            await asyncio.to_thread(shutil.rmtree, ws.root, True)

    def close(self) -> None:
        """Remove every workspace."""
        shutil.rmtree(self.root, ignore_errors=True)
