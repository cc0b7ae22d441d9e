"""Finding and killing every process of an execution, setsid grandchildren included.

A process group kill misses a grandchild that called setsid. Where the machine lets us (root
with a writable pids cgroup, v1 or v2) each execution gets its own cgroup: a hard cap on its
process count (a fork storm stops there) and an exact list of its processes to kill. Without
one, the zygote is the subreaper of every orphan and kills its own stray children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

_V1 = "/sys/fs/cgroup/pids"
_V2 = "/sys/fs/cgroup"
BASE = "agentloop"


def _writable_dir(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK)


def cgroup_root() -> str | None:
    """A folder under which per-execution pids cgroups can be made, or None."""
    if os.geteuid() != 0:
        return None
    candidates = [_V1] if _writable_dir(_V1) else []
    if os.path.exists(os.path.join(_V2, "cgroup.controllers")):
        candidates.append(_V2)
    for root in candidates:
        base = os.path.join(root, BASE)
        try:
            os.makedirs(base, exist_ok=True)
            if root == _V2:
                _enable_v2_pids(root, base)
            probe = os.path.join(base, f"probe-{os.getpid()}")
            os.mkdir(probe)
            ok = os.path.exists(os.path.join(probe, "pids.max"))
            os.rmdir(probe)
            if ok:
                return base
        except OSError:
            continue
    return None


def _enable_v2_pids(root: str, base: str) -> None:
    for folder in (root, base):
        with open(os.path.join(folder, "cgroup.subtree_control"), "w") as fh:
            fh.write("+pids")


def make_cgroup(root: str, name: str, max_pids: int) -> str:
    """Create the cgroup ``root/name`` with a process cap; returns its path."""
    path = os.path.join(root, name)
    os.mkdir(path)
    with open(os.path.join(path, "pids.max"), "w") as fh:
        fh.write(str(max_pids))
    return path


def cgroup_pids(path: str) -> list[int]:
    """Processes in the cgroup now."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as fh:
            return [int(line) for line in fh if line.strip()]
    except OSError:
        return []


def kill_cgroup(path: str, *, remove: bool = False, deadline_s: float = 2.0) -> bool:
    """SIGKILL every process in the cgroup until it is empty; True when it emptied."""
    kill_file = os.path.join(path, "cgroup.kill")
    end = time.monotonic() + deadline_s
    pids = cgroup_pids(path)
    while pids and time.monotonic() < end:
        if os.path.exists(kill_file):
            with contextlib.suppress(OSError), open(kill_file, "w") as fh:
                fh.write("1")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)
        pids = cgroup_pids(path)
    # an empty cgroup stays empty: only a member can add one (by forking), or root, by writing procs
    empty = not pids
    if remove and empty:
        with contextlib.suppress(OSError):
            os.rmdir(path)
    return empty


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, session, ...


def children_of(ppid: int) -> list[int]:
    """Live direct children of ``ppid`` (a /proc scan)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[1]) == ppid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _kill_until_gone(find, rounds: int = 20) -> None:  # () -> list of pids
    # repeatedly: killing a parent hands its children on (to a subreaper) a moment later
    for _ in range(rounds):
        pids = find()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def kill_children_of(ppid: int, keep: frozenset[int] = frozenset()) -> None:
    """Kill every child of ``ppid`` except ``keep``, as orphans of killed ones arrive."""
    _kill_until_gone(lambda: [p for p in children_of(ppid) if p not in keep])


def _owned_by(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
    return pids


def kill_uid(uid: int) -> None:
    """Kill every process running as ``uid`` (each execution has its own uid when we are root)."""
    _kill_until_gone(lambda: _owned_by(uid))
