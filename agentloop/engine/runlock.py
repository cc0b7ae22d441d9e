"""One live process per run: an exclusive ``flock`` on ``<store>.locks/<run_id>.lock``.

``run`` and ``resume`` hold it for the run's whole life. The kernel drops a ``flock`` when its
holder dies, however it dies, so a run whose process was killed with SIGKILL is resumable at
once, while a second ``resume`` of a live run is refused instead of writing the same turns twice.
The lock file is removed on release; a process that opened it just before may then lock a file
no longer in the folder, so a lock counts only if the path still names the file that was locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from pathlib import Path
from typing import Self

from ..errors import RunActiveError, RunNotFoundError

_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def lock_path(store_path: Path, run_id: str) -> Path | None:
    """Where the run's lock lives; ``None`` for an in-memory store (no other process can see it)."""
    if str(store_path) in (":memory:", ""):
        return None
    if not _RUN_ID.match(run_id) or run_id.strip(".") == "":
        raise RunNotFoundError(f"no run '{run_id[:80]}' in {store_path}")  # never a path outside the lock folder
    return store_path.parent / f"{store_path.name}.locks" / f"{run_id}.lock"


class RunLock:
    """Context manager holding the run's lock; ``RunActiveError`` when another process holds it."""

    def __init__(self, store_path: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = lock_path(store_path, run_id)
        self._fd: int | None = None

    def __enter__(self) -> Self:
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while self._fd is None:
            # O_CLOEXEC: a sandboxed program must never inherit (and so outlive us holding) the lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                pid = f" (pid {holder})" if holder.isdigit() else ""
                raise RunActiveError(f"run {self.run_id} is active in another process{pid}; "
                                     "wait for it to end or stop it first") from None
            if _same_file(self.path, fd):
                self._fd = fd
            else:
                os.close(fd)  # the previous holder removed the file we locked: try the one there now
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None or self.path is None:  # no lock taken (an in-memory store has no path)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still locked: nobody can lock this file and keep it afterwards
        os.close(self._fd)
        self._fd = None


def _holder(fd: int) -> str:
    """The holder's pid as it wrote it in the locked file ("" if it has not yet, within 0.5 s).

    The holder writes its pid just after it takes the lock (it cannot before: the file may belong to
    a live holder), so a process that loses the race by microseconds can find the file still empty.
    """
    deadline = time.monotonic() + 0.5
    while True:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if holder.isdigit() or time.monotonic() >= deadline:
            return holder
        time.sleep(0.01)


def _same_file(path: Path, fd: int) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)

