"""Run a command as a child subreaper and report every process of its tree still alive after it exits.

``python reaper.py OUT.json SETTLE_S -- ARGV...``: runs ARGV with stdout and stderr sent to files
(a leftover holding a pipe must not hang the test), and with this process as
PR_SET_CHILD_SUBREAPER, so that any orphan the command leaves behind (a setsid double-fork
grandchild, a zygote that outlived its orchestrator) is re-parented here instead of to PID 1,
where it could not be told apart from other processes on the machine. After ARGV exits, orphans
get SETTLE_S seconds to die (a PDEATHSIG or SIGKILL in flight is not a leftover); whatever is
still alive then is recorded, killed and reaped. Zombies are reaped as they appear: left
un-reaped they would count against the sandbox uid's process limit.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def live_tree(root: int) -> list[int]:
    """Live (non-zombie) descendants of ``root``, from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state not in ("Z", "X"):
            parent[int(entry)] = int(ppid)
    found, frontier = [], [root]
    while frontier:
        kids = [pid for pid, ppid in parent.items() if ppid in frontier]
        found += kids
        frontier = kids
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)  # this process has no children of its own to steal from
        except ChildProcessError:
            return
        if pid == 0:
            return


def _describe(pid: int) -> dict:
    info = {"pid": pid}
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            info["cmdline"] = fh.read().replace(b"\0", b" ").decode(errors="replace")[:300]
        info["uid"] = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        pass
    return info


def main() -> int:
    """Entry point; see the module docstring."""
    out_path, settle_s, argv = sys.argv[1], float(sys.argv[2]), sys.argv[4:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    started = time.monotonic()
    with open(out_path + ".stdout", "wb") as so, open(out_path + ".stderr", "wb") as se:
        proc = subprocess.Popen(argv, stdout=so, stderr=se, stdin=subprocess.DEVNULL)
        rc = proc.wait()
    wall = time.monotonic() - started
    deadline = time.monotonic() + settle_s
    while (alive := live_tree(os.getpid())) and time.monotonic() < deadline:
        _reap()
        time.sleep(0.02)
    leftovers = [_describe(pid) for pid in alive]
    for _ in range(5):  # a killed leftover's own children are re-parented here: kill those too
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        _reap()
        if not (alive := live_tree(os.getpid())):
            break
    with open(out_path, "w") as fh:
        json.dump({"rc": rc, "wall_s": wall, "leftovers": leftovers}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
