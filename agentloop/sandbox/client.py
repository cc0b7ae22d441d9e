"""The orchestrator's side of the zygote: one per process, shared by every run and event loop.

A reader thread takes the zygote's replies and resolves futures on whichever event loop asked,
so ``asyncio.run`` called many times (tests, the library wrapper) shares one warm zygote. If the
zygote dies, every pending execution fails (classified, never a hang) and the next one starts a
fresh zygote.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import queue
import socket
import subprocess
import sys
import threading

from ..errors import SandboxError
from .common import base_environment

START_TIMEOUT_S = 60.0  # importing pytest and hypothesis on a loaded 2-core machine


class Pending:
    """Futures for one execution: its pid, then its wait status."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pid: asyncio.Future = loop.create_future()
        self.status: asyncio.Future = loop.create_future()


class ZygoteClient:
    """A running zygote and the reader thread for its replies."""

    def __init__(self, landlock_abi: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**base_environment("/"), "AGENTLOOP_ZYGOTE_FD": str(theirs.fileno()),
               "AGENTLOOP_LANDLOCK_ABI": str(landlock_abi),
               # the zygote imports this very agentloop, wherever it was imported from
               "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}
        self.proc = subprocess.Popen([sys.executable, "-s", "-P", "-m", "agentloop.sandbox.zygote"], env=env,
                                     pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=None, cwd="/")
        theirs.close()
        self.sock = ours
        self._lock = threading.Lock()
        self._pending: dict[int, Pending] = {}
        self._next = 0
        self._asking = threading.Lock()  # one question at a time: an answer carries no id
        self._answers: queue.Queue = queue.Queue()
        self.alive = True
        ours.settimeout(START_TIMEOUT_S)
        try:
            hello = json.loads(ours.recv(4096) or b"{}")
        except (OSError, ValueError) as exc:
            self.close()
            raise SandboxError(f"sandbox worker did not start: {exc}") from exc
        if not hello.get("ready"):
            self.close()
            raise SandboxError("sandbox worker did not start (see stderr)")
        ours.settimeout(None)
        self.pid = int(hello["pid"])
        self.vm_bytes = int(hello.get("vm", 0))
        threading.Thread(target=self._read, name="agentloop-zygote-reader", daemon=True).start()

    def submit(self, request: dict, fds: list[int]) -> Pending:
        """Send one execution request with its descriptors; the caller closes its copies afterwards."""
        pending = Pending(asyncio.get_running_loop())
        with self._lock:
            if not self.alive:
                raise SandboxError("sandbox worker is gone")
            self._next += 1
            request = {**request, "id": self._next}
            self._pending[self._next] = pending
            try:
                self.sock.sendmsg([json.dumps(request).encode()],
                                  [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _fd_bytes(fds))])
            except OSError as exc:
                self._pending.pop(self._next, None)
                raise SandboxError(f"sandbox worker unreachable: {exc}") from exc
        return pending

    def sweep(self) -> None:
        """Ask the zygote to kill its orphaned grandchildren (used when no cgroup or uid tracks them)."""
        with self._lock:
            if self.alive:
                try:
                    self.sock.send(json.dumps({"op": "sweep"}).encode())
                except OSError:
                    pass

    def spares(self) -> list[int]:
        """The pids of the children the zygote forked ahead and holds waiting (none has had a job yet)."""
        with self._asking:
            with self._lock:
                if not self.alive:
                    return []
                self.sock.send(json.dumps({"op": "spares"}).encode())
            try:
                return self._answers.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                raise SandboxError("the sandbox worker did not answer") from None

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            if "spares" in msg:
                self._answers.put(msg["spares"])
                continue
            with self._lock:
                pending = self._pending.get(msg.get("id"))
                if pending is not None and "status" in msg:
                    del self._pending[msg["id"]]
            if pending is not None:
                key = "pid" if "pid" in msg else "status"
                _resolve(pending, getattr(pending, key), msg[key])
        with self._lock:
            closing = not self.alive  # close() was called: an orderly end, not a death
            self.alive = False
            lost, self._pending = list(self._pending.values()), {}
        if lost:
            error = SandboxError("a check was cut short" if closing else self._death())
            for pending in lost:
                for fut in (pending.pid, pending.status):
                    _resolve(pending, fut, error)

    def _death(self) -> str:
        """One line on how the zygote ended (it is reaped here if it is gone)."""
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return f"the sandbox worker (pid {self.pid}) stopped answering during a check"
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"the sandbox worker (pid {self.pid}) {how} during a check (killed, or out of memory?)"

    def close(self) -> None:
        """End the zygote: closing the socket makes it kill everything it started and exit."""
        with self._lock:
            self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def _fd_bytes(fds: list[int]) -> bytes:
    """File descriptors packed for SCM_RIGHTS."""
    import array
    return array.array("i", fds).tobytes()


def _resolve(pending: Pending, fut: asyncio.Future, value: object) -> None:
    def set_it() -> None:
        if fut.done():
            return
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)
    try:
        pending.loop.call_soon_threadsafe(set_it)
    except RuntimeError:  # that event loop is closed: nobody waits any more
        pass


_client: ZygoteClient | None = None
_client_lock = threading.Lock()


def zygote(landlock_abi: int) -> ZygoteClient:
    """The process's zygote, started on first use and restarted if it died."""
    global _client
    with _client_lock:
        if _client is None or not _client.alive or _client.proc.poll() is not None:
            if _client is not None:
                _client.close()
            _client = ZygoteClient(landlock_abi)
        return _client


def spare_pids() -> list[int]:
    """The running zygote's waiting pre-forked children (empty when no zygote runs)."""
    client = _client
    return client.spares() if client is not None and client.alive else []


def shutdown() -> None:
    """Stop the process's zygote (and with it every sandboxed process)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
            _client = None


def _at_fork_child() -> None:
    global _client
    if _client is not None:
        # a forked copy must neither talk to the parent's zygote nor keep its socket open, or the
        # zygote would not see the parent die
        try:
            _client.sock.close()
        except OSError:
            pass
    _client = None


os.register_at_fork(after_in_child=_at_fork_child)
atexit.register(shutdown)
