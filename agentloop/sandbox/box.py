"""``Sandbox``: one run's private folder, its isolation level, and cleanup of killed runs' leftovers.

Every sandbox lives under one per-user base folder and holds an flock on its own folder while
alive. A run killed with ``kill -9`` releases that lock with its death, so the next sandbox to
start finds the folder unlocked and removes it, killing whatever its cgroups still hold.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

from . import bwrap, confine, landlock, tree
from .client import ZygoteClient, zygote

ISOLATION_LEVELS = ("process", "bwrap")


@functools.lru_cache(maxsize=1)
def _landlock_abi() -> int:
    return landlock.abi()


@functools.lru_cache(maxsize=1)
def _cgroup_root() -> str | None:
    return tree.cgroup_root()


@functools.lru_cache(maxsize=1)
def _non_dumpable() -> None:
    # a candidate running as our own uid (no root, so no fresh uid) must not read this process's
    # memory or environment (API keys) through /proc/<pid>/mem or /environ, nor ptrace it
    with contextlib.suppress(OSError):
        confine.prctl(confine.PR_SET_DUMPABLE, 0)


def base_dir(parent: str | Path | None = None) -> Path:
    """The per-user folder holding every live sandbox (searchable, not listable, by others)."""
    parent = Path(parent or tempfile.gettempdir())
    if os.geteuid() == 0 and not confine.world_reachable(str(parent)):
        parent = Path("/tmp")  # a fresh uid must be able to walk to its workdir (TMPDIR under a 0700 home)
    base = parent / f"agentloop-sandbox-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o711)
    st = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or st.st_uid != os.geteuid():
        raise OSError(f"{base} is not a folder owned by this user")
    base.chmod(0o711)
    return base


def clean_stale(base: Path, cgroup_root: str | None) -> int:
    """Remove sandboxes whose owner died (their lock is free); returns how many."""
    removed = 0
    for entry in base.iterdir():
        lock = entry / ".lock"
        with contextlib.suppress(OSError):
            if time.time() - entry.stat().st_mtime < 60:
                continue  # maybe still being set up by its owner
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # alive
        if cgroup_root:
            for cg in Path(cgroup_root).glob(f"{entry.name}-*"):
                tree.kill_cgroup(str(cg), remove=True)
        shutil.rmtree(entry, ignore_errors=True)
        os.close(fd)
        removed += 1
    return removed


def _fresh_workspace(parent: Path) -> Path:
    """A new folder with an unguessable name, holding an empty ``work`` folder for the candidate."""
    root = parent / secrets.token_hex(8)
    root.mkdir(mode=0o711)
    work = root / "work"
    work.mkdir()
    # sticky and world-writable: a fresh uid may create files here but not touch ours
    work.chmod(0o1777 if os.geteuid() == 0 else 0o700)
    return root


class _Housekeeper:
    """Deletes used workspaces and makes the next empty ones on a thread of its own: no check waits for the disk.

    Folders are slow to remove where freeing a block is (ext4 mounted with online discard: 1-2 ms
    per rmdir, almost none of it CPU), and slower to make than a check takes to run.
    A folder made ahead is new and unused, like one made on demand, and holds no file yet.
    """

    READY = 2  # empty workspaces kept made: as many as checks that run at once on a small machine

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.ready: collections.deque[Path] = collections.deque()
        self.thread = threading.Thread(target=self._work, name="agentloop-workspace-housekeeper", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Finish what is queued and stop making folders (before the sandbox's own folder goes)."""
        self.queue.put(None)
        self.thread.join()

    def _work(self) -> None:
        while (folder := self.queue.get()) is not None:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):  # the sandbox closing under us: nothing more is needed
                while len(self.ready) < self.READY and self.queue.empty():
                    self.ready.append(_fresh_workspace(self.parent))


class Sandbox:
    """Hands out workspaces under one private folder; ``close`` kills everything and removes it.

    ``isolation`` is ``process`` (Layer A, the default: zygote fork, rlimits, Landlock, fresh uid
    or capability-less root, cgroup) or ``bwrap`` (Layer B: the same inside bubblewrap's
    private pid, network and mount namespaces), which falls back to ``process`` loudly when
    bubblewrap is missing or fails its self-test.
    """

    def __init__(self, parent: str | Path | None = None, *, isolation: str = "process") -> None:
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"isolation must be one of {ISOLATION_LEVELS}")
        _non_dumpable()
        self.landlock_abi = _landlock_abi()
        self.cgroup_root = _cgroup_root()
        self._parent = parent
        self._root: Path | None = None
        self._lock: int | None = None
        self._closed = False
        self.stale_removed = 0
        self.layer, self.fallback = isolation, None
        if isolation == "bwrap" and not bwrap.available():
            self.layer, self.fallback = "process", bwrap.why_unavailable()
            warnings.warn(f"agentloop: bubblewrap isolation unavailable ({self.fallback}); "
                          "falling back to process isolation", RuntimeWarning, stacklevel=2)
        self.live: set = set()
        self._count = 0
        self._keeper: _Housekeeper | None = None

    @property
    def root(self) -> Path:
        """This sandbox's private folder, made on first use (a run whose checks execute nothing pays nothing)."""
        if self._root is None:
            base = base_dir(self._parent)
            self.stale_removed = clean_stale(base, self.cgroup_root)
            self._root = base / f"{os.getpid()}-{secrets.token_hex(8)}"
            if not self._closed:
                self._root.mkdir(mode=0o711)
                self._lock = os.open(self._root / ".lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
                fcntl.flock(self._lock, fcntl.LOCK_EX)
        return self._root

    def client(self) -> ZygoteClient:
        """The warm zygote that forks this sandbox's executions."""
        return zygote(self.landlock_abi)

    def separate_uid(self, python: bool) -> bool:
        """Whether an execution runs as a fresh uid (whenever we are root)."""
        return os.geteuid() == 0

    def new_cgroup(self) -> str | None:
        """A fresh pids cgroup for one execution, when the machine allows."""
        if not self.cgroup_root:
            return None
        self._count += 1
        try:
            return tree.make_cgroup(self.cgroup_root, f"{self.root.name}-{self._count}", 4 * 64)
        except OSError:
            return None

    def describe(self, python: bool = True, uid: int | None | bool = False) -> str:
        """The isolation used, for the record: layer and each protection (``uid``: the execution's, if known)."""
        parts = [self.layer]
        parts.append(f"landlock v{self.landlock_abi}" if self.landlock_abi else "no landlock")
        if os.geteuid() == 0:
            fresh = self.separate_uid(python) if uid is False else uid is not None
            parts.append("fresh uid" if fresh else "uid 0 without capabilities")
        parts.append("pids cgroup" if self.cgroup_root else "no cgroup")
        if self.fallback:
            parts.append(f"bwrap unavailable: {self.fallback}")
        return ", ".join(parts)

    @contextlib.asynccontextmanager
    async def workspace(self, files: dict[str, str]) -> AsyncIterator:
        """A fresh folder (unguessable name) holding ``files``; removed afterwards."""
        from .workspace import Workspace
        ready = self._keeper.ready if self._keeper is not None else None
        ws = Workspace(self, ready.popleft() if ready else _fresh_workspace(self.root))
        for name, content in files.items():
            ws.write(name, content)
        try:
            yield ws
        finally:
            self._discard(ws.root)

    def _discard(self, folder: Path) -> None:
        """Take a used workspace out of sight at once, and delete it in the background.

        A rename costs no block frees; nothing can write there any more (its processes are dead),
        and ``close`` waits for the housekeeper.
        """
        trash = self.root / f".trash-{secrets.token_hex(8)}"
        try:
            os.rename(folder, trash)
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            return
        if self._keeper is None:
            self._keeper = _Housekeeper(self.root)
        self._keeper.queue.put(trash)

    def close(self) -> None:
        """Kill every process still running here, remove the folder, release the lock."""
        for ex in list(self.live):
            ex.kill()
        self._closed = True
        if self._keeper is not None:
            self._keeper.stop()  # or it could make a folder in what the rmtree below removes
            self._keeper = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
