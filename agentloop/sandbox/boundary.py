"""The solution boundary: pytest runs in one process, the candidate in another; only plain data crosses.

``python -m agentloop.sandbox.boundary PYTEST_ARGS...`` (inside the sandbox, already confined)
forks the candidate's process (``solution_server``) before pytest starts and before the report
channel's key is read, then runs pytest here with ``solution`` in ``sys.modules`` as a proxy
module: each function the tests import is a stub that sends its (plain) arguments over a
socket and returns the candidate's result decoded into fresh builtin values (``plain``).

So no candidate code ever runs in the process that compares values and reports outcomes: a
lying ``__eq__``, ``__bool__``, ``__len__`` or ``__class__``, a comparison installed later, a
patched builtin or pytest — all of it happens in a process whose only output the tests see is
data. What is not plain data fails the test with a message naming it. Exceptions come back as
the builtin class they derive from (or the solution's own exception class, re-made here as a
subclass of that builtin), with the candidate's frames as a note. Arguments a call changed in
place (a list it sorted) are written back. What the candidate prints reaches this process's
``sys.stdout``/``sys.stderr``, so pytest's ``capsys`` sees it.

Tasks whose functions return their own types set ``sandbox: {results: objects}`` and run the
old way: pytest imports the candidate in-process (see docs/security.md).
"""

from __future__ import annotations

import builtins
import fcntl
import os
import signal
import socket
import sys
import threading
import types
from typing import Any

from . import confine
from .plain import NotPlain, decode, encode
from .solution_server import recv, send

_CHANNEL_FDS = (3, 4)  # agentloop.sandbox.pytest_channel's report pipe and key
PLAIN_TYPES = "None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset"
SOLUTION_LINES = "agentloop_solution_lines"  # an exception's solution.py line numbers, for pytest_channel


class NotPlainData(TypeError):
    """The solution returned (or exported) something that is not plain data."""


class SolutionProcessError(RuntimeError):
    """The solution's process died, or answered with something unreadable."""


class SolutionImportError(ImportError):
    """Importing the candidate as ``solution`` failed (in its own process)."""


class _Connection:
    """The socket to the solution's process; one request at a time."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock, self.pid = sock, pid
        self.lock = threading.Lock()
        self.dead: str | None = None

    def request(self, message: dict) -> dict:
        __tracebackhide__ = True
        with self.lock:
            if self.dead is None:
                try:
                    send(self.sock, message)
                    reply = recv(self.sock)
                except (OSError, ValueError):
                    reply = None
                if type(reply) is not dict:
                    self.dead = self._why(reply)
            if self.dead is not None:
                raise SolutionProcessError(self.dead)
        for key, stream in (("out", sys.stdout), ("err", sys.stderr)):
            if type(reply.get(key)) is str:
                stream.write(reply[key])
        return reply

    def _why(self, reply: object) -> str:
        if reply is not None:
            return "the solution's process sent an unreadable reply"
        try:
            pid, status = os.waitpid(self.pid, 0)
            how = f"was killed by signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) \
                else f"exited with status {os.waitstatus_to_exitcode(status)}"
        except ChildProcessError:
            how = "ended"
        return f"the solution's process {how} (did the solution exit, crash or run out of memory?)"


class SolutionModule(types.ModuleType):
    """``solution`` as the tests see it: functions as stubs, plain values as copies, nothing else."""

    def __init__(self, conn: _Connection) -> None:
        super().__init__("solution", "the candidate, running in its own process (agentloop.sandbox.boundary)")
        self.__dict__["_conn"] = conn
        self.__dict__["_exceptions"] = {}

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        if name == "__all__":
            return [n for n in self._ask({"op": "names"})["value"] if not n.startswith("_")]
        reply = self._ask({"op": "attr", "name": name})
        if reply.get("missing"):
            raise AttributeError(f"module 'solution' has no attribute '{name}'")
        kind = reply.get("kind")
        if kind == "callable":
            value = _stub(self, name)
        elif kind == "exception":
            value = self._exception_class(name, reply.get("types"))
        elif kind == "value":
            value = _decoded(reply.get("value"), f"solution.{name}")
        else:
            what = {"class": "a class", "module": "a module"}.get(str(kind)) or str(reply.get("what", "an object"))[:300]
            raise NotPlainData(f"solution.{name} is {what}: only functions and plain data ({PLAIN_TYPES}) "
                               "reach the tests (a task whose functions return their own types sets "
                               "sandbox.results: objects)")
        self.__dict__[name] = value
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(self._ask({"op": "names"})["value"]) | set(super().__dir__()))

    def _ask(self, message: dict) -> dict:
        __tracebackhide__ = True
        reply = self._conn.request(message)
        if "import_error" in reply:
            failed = reply["import_error"] if type(reply["import_error"]) is dict else {}
            raise SolutionImportError(f"importing the solution failed:\n{_text(failed.get('trace'), 4000)}")
        if "error" in reply:
            raise SolutionProcessError(_text(reply["error"], 500))
        return reply

    def _exception_class(self, name: str, names: object) -> type:
        base = _builtin_exception(names if type(names) is list else [], skip_first=True)
        cls = type(name, (base,), {"__module__": "solution"})
        self._exceptions[name] = cls
        return cls

    def _call(self, name: str, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True
        try:
            sent_args, sent_kwargs = encode(args, paths=True), encode(kwargs, paths=True)
        except NotPlain as exc:
            raise NotPlainData(f"an argument of solution.{name}() cannot cross into the solution's process: {exc} "
                               f"(only plain data does; a task that passes objects sets sandbox.results: objects)") \
                from None
        reply = self._ask({"op": "call", "name": name, "args": sent_args, "kwargs": sent_kwargs})
        if reply.get("missing"):
            raise AttributeError(f"module 'solution' has no attribute '{name}' any more")
        if "args_after" in reply:
            _write_back_all(args, kwargs, reply["args_after"])
        if "raised" in reply:
            raise self._rebuilt(name, reply["raised"] if type(reply["raised"]) is dict else {})
        if "not_plain" in reply:
            raise NotPlainData(f"solution.{name}(): {_text(reply['not_plain'], 300)}. Only plain data reaches "
                               f"the tests: {PLAIN_TYPES}, nested as you like.")
        if "value" not in reply:
            raise SolutionProcessError("the solution's process sent an unreadable reply")
        return _decoded(reply["value"], f"the return value of solution.{name}()")

    def _rebuilt(self, name: str, info: dict) -> BaseException:
        names = [n for n in info.get("types", []) if type(n) is str] if type(info.get("types")) is list else []
        message = _text(info.get("message"), 2000)
        own = self._exceptions.get(names[0]) if names else None
        cls = own or _builtin_exception(names)
        try:
            args = decode(info["args"]) if info.get("args") is not None else (message,)
            args = args if type(args) is tuple else (message,)
        except (ValueError, TypeError):
            args = (message,)
        if not issubclass(cls, Exception):  # SystemExit, KeyboardInterrupt: a failure, not an exit
            cls, args = RuntimeError, (f"solution.{name}() raised {cls.__name__}: {message}",)
        exc = _construct(cls, args, message)
        raised_as = names[0] if names else cls.__name__
        note = f"raised in solution.{name}() as {raised_as}: {message}"
        if trace := _text(info.get("trace"), 4000):
            note += f"\n{trace}"
        exc.add_note(note)
        lines = info.get("lines")
        # read by the report channel (pytest_channel) as the failure's solution.py frames
        setattr(exc, SOLUTION_LINES, [n for n in lines[:20] if type(n) is int] if type(lines) is list else [])
        return exc


def _stub(module: SolutionModule, name: str):
    def call(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the test's line and the candidate's frames, not ours
        return module._call(name, args, kwargs)
    call.__name__ = call.__qualname__ = name
    call.__module__ = "solution"
    return call


def _construct(cls: type, args: tuple, message: str) -> BaseException:
    """``cls(*args)``; for builtins that want other arguments (UnicodeDecodeError), the nearest that works."""
    for attempt in (lambda: cls(*args), lambda: cls(message), lambda: ValueError(message)):
        try:
            return attempt()
        except Exception:  # noqa: BLE001 - try the next form
            continue
    return RuntimeError(message)


def _builtin_exception(names: list, *, skip_first: bool = False) -> type:
    """The first builtin exception class among ``names`` (the raised class's MRO)."""
    for n in names[1:] if skip_first else names:
        cls = getattr(builtins, n, None) if type(n) is str else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            return cls
    return Exception


def _decoded(data: object, where: str) -> Any:
    try:
        return decode(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise SolutionProcessError(f"{where} arrived unreadable ({exc})") from None


def _text(value: object, limit: int) -> str:
    return value[:limit] if type(value) is str else ""


def _write_back_all(args: tuple, kwargs: dict, after: object) -> None:
    """Copy in-place changes the call made to its arguments back into the tests' own objects."""
    try:
        new_args, new_kwargs = (decode(after[0]), decode(after[1])) if type(after) is list and len(after) == 2 \
            else ((), {})
    except (ValueError, TypeError, RecursionError):
        return
    if type(new_args) is tuple and len(new_args) == len(args):
        for old, new in zip(args, new_args):
            _write_back(old, new)
    if type(new_kwargs) is dict:
        for key, old in kwargs.items():
            if key in new_kwargs:
                _write_back(old, new_kwargs[key])


def _write_back(old: object, new: object) -> None:
    if type(old) is not type(new):
        return
    if type(old) is list and type(new) is list:
        if len(old) == len(new):
            for i, (o, n) in enumerate(zip(old, new)):
                if type(o) in (list, dict, set) and type(o) is type(n):
                    _write_back(o, n)
                elif o is not n:
                    old[i] = n
        else:
            old[:] = new
    elif type(old) is dict and type(new) is dict:
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, n in new.items():
            if key in old and type(old[key]) in (list, dict, set) and type(old[key]) is type(n):
                _write_back(old[key], n)
            else:
                old[key] = n
    elif type(old) is set and type(new) is set:
        old.clear()
        old.update(new)


class _Scrub:
    """A pytest plugin: once plugins are loaded, the work folder leaves ``sys.path``.

    The candidate can write files there; this process must never import one of them.
    """

    def pytest_configure(self, config) -> None:  # pytest hook
        """Drop the work folder from the import path."""
        here = os.path.realpath(os.getcwd())
        sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != here]


def _serve_child(child: socket.socket, parent: socket.socket) -> None:
    """In the forked child: shed the report channel, then serve the candidate."""
    code = 1
    try:
        parent.close()
        fd = child.detach()
        if fd in _CHANNEL_FDS:  # run without a report channel (by hand): keep our socket clear of them
            fd, old = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, max(_CHANNEL_FDS) + 1), fd
            os.close(old)
        for channel_fd in _CHANNEL_FDS:  # the report channel and its key: never in the candidate's process
            try:
                os.close(channel_fd)
            except OSError:
                pass
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
        from .solution_server import serve
        serve(socket.socket(fileno=fd))
        code = 0
    finally:
        os._exit(code)


def fork_solution() -> tuple[socket.socket, int]:
    """Fork the solution's process (before any key is read); our end of its socket, and its pid."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # non-dumpable: the candidate (same uid) can neither ptrace this process nor read its /proc files
    confine.prctl(confine.PR_SET_DUMPABLE, 0)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _serve_child(theirs, ours)
    theirs.close()
    return ours, pid


def main() -> None:
    """Fork the solution's process, then run pytest here with the proxy ``solution`` module."""
    ours, pid = fork_solution()
    sys.modules["solution"] = SolutionModule(_Connection(ours, pid))
    import pytest
    raise SystemExit(int(pytest.main(sys.argv[1:], plugins=[_Scrub()])))


if __name__ == "__main__":
    main()
