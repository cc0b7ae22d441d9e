"""The warm worker: a clean process that forks one confined child per execution.

Started once per orchestrator process with an allowlisted environment, it imports pytest,
hypothesis and the standard library up front, so a check pays a fork (about a millisecond)
instead of an interpreter start plus pytest import. It never runs candidate code itself: each
execution is a fresh fork, confined (``confine.apply``) before any candidate byte runs, and
discarded afterwards, so nothing one candidate does can reach the next.

A few children (``SPARES``) are forked ahead of demand and take the job-independent steps of
confinement (``confine.prepare``: own session, death signal, no_new_privs, Landlock's read
rules) while no check waits; each then blocks on its own socket for exactly one job, and applies
the job's part (its descriptors, cgroup, limits, workdir rule, fresh uid) when it arrives. A
spare serves one job and exits like any other child; the zygote forks a replacement when idle.

Protocol (SOCK_SEQPACKET, one JSON message each, file descriptors passed with SCM_RIGHTS):
request ``{"id", "argv", "env", "conf", "python"}`` + fds [stdin, stdout, stderr, extra…];
replies ``{"id", "pid"}`` once forked and ``{"id", "status"}`` (a wait status) once exited.
When the orchestrator goes away (the socket reads EOF, e.g. after ``kill -9``) it kills every
process it started and exits.
"""

from __future__ import annotations

import array
import fcntl
import gc
import json
import os
import select
import selectors
import signal
import socket
import sys
import threading

from . import confine, runner, tree
from .common import base_environment

MAX_MSG = 1 << 20
SPARES = 2  # pre-forked children waiting for a job: enough for the checks a 2-core machine runs at once
_PATH_FD_BASE = 16  # above the passed descriptors (0-4), below the read-rule ones (1000+)
_JOB_FD, _RULES_FD = 900, 901  # a spare's socket and its Landlock ruleset, clear of both ranges


def _preload() -> None:
    # what checks import anyway: paid once here instead of once per execution
    import runpy  # noqa: F401

    import pytest  # noqa: F401

    from . import boundary, pytest_channel  # noqa: F401
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        pass
    for name in ("collections", "itertools", "functools", "math", "re", "string", "heapq", "bisect", "typing",
                 "dataclasses", "random", "statistics", "fractions", "decimal", "datetime", "hashlib", "copy",
                 "operator", "textwrap", "unicodedata", "array", "struct", "enum", "json", "doctest", "unittest"):
        __import__(name)


class Zygote:
    """The fork server's state: open read-only paths, live children, the control socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.abi = int(os.environ.get("AGENTLOOP_LANDLOCK_ABI", "0"))
        self.read_fds = self._open_read_paths() if self.abi else []
        self.live: dict[int, dict] = {}  # pid -> request (the execution's main process)
        self.spares: dict[int, socket.socket] = {}  # pid -> socket of a pre-forked child waiting for its job
        self.preforking = True  # off for good once a spare dies unused: its preparation fails here
        self.pid = os.getpid()
        # spares prepare at idle priority, on CPU no check wants; only root can raise them back again
        self.idle_prep = os.geteuid() == 0 and os.sched_getscheduler(0) == os.SCHED_OTHER
        self.hidden = [p for p in sys.path if p and os.path.isdir(p) and not confine.world_reachable(p)][:32]

    @staticmethod
    def _open_read_paths() -> list[tuple[int, bool]]:
        fds = []
        for path in confine.static_read_paths():
            try:
                low = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            # far above the numbers a child's passed descriptors are moved to, so none is clobbered
            fd = fcntl.fcntl(low, fcntl.F_DUPFD_CLOEXEC, 1000)
            os.close(low)
            fds.append((fd, os.path.isdir(path)))
        return fds

    def spawn(self, req: dict, data: bytes, fds: list[int]) -> None:
        """Hand ``req`` (``data`` as received) to a spare child, or fork one for it; neither returns here."""
        pid = None if req.get("outer") else self._hand_to_spare(data, fds)
        if pid is None:  # none waiting, or Layer B (bwrap wants a plain root parent, not no_new_privs)
            pid = os.fork()
            if pid == 0:
                self._child(req, fds)  # does not return
        for fd in fds:
            os.close(fd)
        self.live[pid] = req
        self._send({"id": req["id"], "pid": pid})

    def _hand_to_spare(self, data: bytes, fds: list[int]) -> int | None:
        while self.spares:
            pid = next(iter(self.spares))  # the oldest: the furthest along in its preparation
            sock = self.spares.pop(pid)
            try:
                if self.idle_prep:  # what is left of its preparation now runs ahead of the job, not behind others
                    os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
                sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())])
            except OSError:  # it died waiting (reaped later): try the next
                continue
            finally:
                sock.close()
            return pid
        return None

    def prefork(self) -> None:
        """Fork one spare child: confined as far as no job is needed, then waiting for its one job."""
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        except OSError:
            self.preforking = False  # out of descriptors: jobs fork cold (and fail there, with a reason)
            return
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            self.preforking = False  # out of processes: no retrying in a loop
            return
        if pid == 0:
            self._spare(theirs.detach())  # does not return
        theirs.close()
        self.spares[pid] = ours

    def _spare(self, job_fd: int) -> None:
        code = 126
        try:
            os.dup2(job_fd, _JOB_FD, inheritable=False)
            # nothing of the zygote's stays open: its control socket, wake pipe, the other spares' sockets
            os.closerange(0, _JOB_FD)
            os.closerange(_JOB_FD + 1, 1000)  # the read-rule descriptors (1000+) stay until confinement ends
            if self.idle_prep:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            rules = self._prepare()
            job = socket.socket(fileno=_JOB_FD)
            if not select.select([job], [], [], 0)[0]:  # no job waiting yet: time to pre-fault for it
                runner.warm(base_environment("/"))
            data, fds = _recv_with_fds(job)
            if not data:
                os._exit(0)  # the zygote went away before a job came
            job.close()
            if self.idle_prep:  # the zygote raised us already, unless the job came before we lowered ourselves
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            code = self._job(json.loads(data), fds, rules)
        except BaseException as exc:  # noqa: BLE001 - report why confinement failed, never run unconfined
            _report(exc)
        os._exit(code)

    def _prepare(self, outer: bool = False):  # a landlock.Ruleset, None, or False for Layer B
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        if outer:
            return False  # bwrap confines from inside its namespaces
        rules = confine.prepare(self.abi, self.read_fds, [])
        if os.getppid() != self.pid:
            os._exit(0)  # the zygote died before the death signal was set: nobody would end us
        if rules is not None:  # clear of 0-4, where the job's descriptors are about to be moved
            os.dup2(rules.fd, _RULES_FD, inheritable=False)
            os.close(rules.fd)
            rules.fd = _RULES_FD
        return rules

    def _child(self, req: dict, fds: list[int]) -> None:
        code = 126
        try:
            code = self._job(req, fds, self._prepare(bool(req.get("outer"))))
        except BaseException as exc:  # noqa: BLE001 - report why confinement failed, never run unconfined
            _report(exc)
        os._exit(code)

    def _job(self, req: dict, fds: list[int], rules) -> int:  # what _prepare returned, or False
        _install_fds(fds)
        # Python ignores SIGPIPE (BrokenPipeError instead); an exec'd program gets the default
        signal.signal(signal.SIGPIPE, signal.SIG_IGN if req["python"] else signal.SIG_DFL)
        conf = confine.Confinement(**{**req["conf"], "limits": confine.Limits(**req["conf"]["limits"])},
                                   read_fds=self.read_fds)
        paths = {}
        if conf.uid is not None:  # a fresh uid: reach what it could not walk to through descriptors
            paths = self._path_handles(self.hidden if req["python"] else _exec_folder(req["argv"][0]))
        if req.get("outer"):  # Layer B: bwrap confines the rest from inside its namespaces
            confine.apply_outer(conf)
        else:
            confine.apply(conf, rules)
        # the control socket and the zygote's path fds must not reach the candidate
        os.closerange(len(fds), _PATH_FD_BASE)
        os.closerange(_PATH_FD_BASE + len(paths), 1 << 16)
        return runner.run(req["argv"], req["env"], python=req["python"], path_map=paths)

    def _path_handles(self, folders: list[str]) -> dict[str, str]:
        """For a fresh uid: reach import folders it could not walk to (a 0700 /root) via /proc/self/fd.

        The descriptor is opened while still root; resolving ``/proc/self/fd/N/...`` starts at that
        folder, so the uid needs read access to the files, not to the folders above them.
        """
        found = {}
        for i, entry in enumerate(folders):
            fd = os.open(entry, os.O_PATH | os.O_DIRECTORY)
            os.dup2(fd, _PATH_FD_BASE + i, inheritable=False)
            os.close(fd)
            found[entry] = f"/proc/self/fd/{_PATH_FD_BASE + i}"
        return found

    def reap(self) -> None:
        """Collect every exited child (orphans included: we are their subreaper)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            req = self.live.pop(pid, None)
            if req is not None:
                self._send({"id": req["id"], "status": status})
            elif pid in self.spares:
                self.spares.pop(pid).close()
                self.preforking = False  # not forked again and again: jobs fork cold and report why

    def _send(self, msg: dict) -> None:
        try:
            self.sock.send(json.dumps(msg).encode())
        except OSError:
            pass

    def receive(self) -> bool:
        """Handle one request; False once the orchestrator has gone."""
        try:
            data, fds = _recv_with_fds(self.sock)
        except OSError:
            return False
        if not data:
            return False
        req = json.loads(data)
        if req.get("op") == "spares":
            self._send({"spares": list(self.spares)})
        elif req.get("op") == "sweep":
            tree.kill_children_of(os.getpid(), keep=frozenset(self.live) | frozenset(self.spares))
        else:
            self.spawn(req, data, fds)
        return True

    def shutdown(self) -> None:
        """Kill every process this zygote started, wherever it went."""
        for req in self.live.values():
            if req["conf"].get("cgroup"):
                tree.kill_cgroup(req["conf"]["cgroup"])
            elif req["conf"].get("uid") is not None:
                tree.kill_uid(req["conf"]["uid"])  # setsid grandchildren whose parent still lives
        tree.kill_children_of(os.getpid())


def _recv_with_fds(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One message and the descriptors passed with it; b"" once the other end has gone."""
    fds = array.array("i")
    try:
        data, anc, _flags, _addr = sock.recvmsg(MAX_MSG, socket.CMSG_SPACE(16 * fds.itemsize))
    except ConnectionResetError:
        return b"", []
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    return data, list(fds)


def _report(exc: BaseException) -> None:
    try:
        os.write(2, f"agentloop sandbox: could not start: {type(exc).__name__}: {exc}\n".encode())
    except OSError:
        pass


def _exec_folder(program: str) -> list[str]:
    folder = os.path.dirname(program)
    return [folder] if os.path.isabs(program) and not confine.world_reachable(folder) else []


def _preload_watched(sock: socket.socket) -> None:
    """Preload, but exit at once if the orchestrator dies meanwhile (a loaded machine can take seconds).

    A thread watches the socket for hang-up only while importing; it is joined before the first
    fork, so no child is ever forked from a multi-threaded zygote.
    """
    done = threading.Event()

    def watch() -> None:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLRDHUP)
        while not done.is_set():
            for _fd, events in poller.poll(50):
                if events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                    os._exit(0)  # nothing started yet: nothing to clean up

    watcher = threading.Thread(target=watch, name="agentloop-zygote-watch", daemon=True)
    watcher.start()
    try:
        _preload()
    finally:
        done.set()
        watcher.join()


def _install_fds(fds: list[int]) -> None:
    # move the passed descriptors to 0, 1, 2, 3… without clobbering one another
    high = [os.dup(fd) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    for fd in high + fds:
        if fd >= len(fds):
            os.close(fd)


def main() -> None:
    """Entry point: ``python -m agentloop.sandbox.zygote`` with the control socket as fd ``AGENTLOOP_ZYGOTE_FD``."""
    sock = socket.socket(fileno=int(os.environ.pop("AGENTLOOP_ZYGOTE_FD")))
    confine.prctl(confine.PR_SET_DUMPABLE, 0)  # a candidate must not read this process's memory
    confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)  # orphans of a candidate come back here to be killed
    _preload_watched(sock)
    zygote = Zygote(sock)
    # keep the warm heap out of every child's garbage collections: a collection touches each
    # object it scans, and each touch copies a page the child would otherwise share with us
    gc.collect()
    gc.freeze()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the orchestrator ends us by closing the socket
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    with open("/proc/self/statm") as fh:  # what a forked child starts with, added to its memory limit
        vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    zygote._send({"ready": True, "pid": os.getpid(), "vm": vm})
    running = True
    while running:
        # refill the spares only when nothing waits: a request or an exit is always served first
        short = zygote.preforking and len(zygote.spares) < SPARES
        events = sel.select(0 if short else None)
        if short and not events:
            zygote.prefork()
        for key, _ in events:
            if key.data == "wake":
                while _drain(wake_r):
                    pass
                zygote.reap()
            elif not zygote.receive():
                running = False
    zygote.shutdown()
    os._exit(0)


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return False


if __name__ == "__main__":
    main()
