"""The candidate's side of the solution boundary: imports ``solution`` and answers calls with plain data.

This process is forked from the test process before pytest starts and before the report
channel's key is read; descriptors 3 and 4 (channel and key) are closed here first, so nothing
the candidate does in this process can reach the verdict: not patching builtins, pytest or the
comparison, not lying values (only plain data is sent back, and the test side decodes it into
fresh builtin values), not reading the key (it was never here). Everything this process sends
is untrusted by the receiver; the checks here only make the messages helpful.

Requests (length-prefixed JSON, see ``boundary``): ``{"op": "attr", "name"}``,
``{"op": "names"}``, ``{"op": "call", "name", "args", "kwargs"}``. Replies carry ``out``/``err``
(what the candidate printed meanwhile), and ``value``, ``error`` or ``raised``.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import traceback
import types
from typing import Any

from .plain import NotPlain, decode, describe, dumps, encode, loads

MAX_MESSAGE = 64 << 20
PRINT_LIMIT = 1 << 20
TRACE_LIMIT = 4000


def send(sock, message: dict) -> None:
    """One length-prefixed message."""
    data = dumps(message)
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv(sock) -> Any:
    """One length-prefixed message, or None at end of stream."""
    head = _exactly(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise ValueError("message too large")
    body = _exactly(sock, size)
    if body is None:
        return None
    return loads(body)


def _exactly(sock, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Printed:
    """What the candidate prints during one request, handed back to the test side's own streams."""

    def __enter__(self) -> _Printed:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        self.streams = sys.stdout, sys.stderr
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.saved

    def fields(self) -> dict:
        out = {}
        for name, stream in zip(("out", "err"), self.streams):
            try:
                text = stream.getvalue()[:PRINT_LIMIT] if type(stream) is io.StringIO else ""
            except Exception:  # noqa: BLE001 - the candidate may have broken the stream
                text = ""
            if text:
                out[name] = text
        return out


def _trace(exc: BaseException) -> str:
    """The candidate's frames (``solution.py:LINE: in NAME``), as pytest's short tracebacks show them."""
    lines: list[str] = []
    try:
        for frame in traceback.extract_tb(exc.__traceback__):
            if os.path.basename(frame.filename) == "solution.py" or not lines and frame.filename.startswith("<"):
                lines.append(f"solution.py:{frame.lineno}: in {frame.name}\n    {(frame.line or '').strip()}")
    except Exception:  # noqa: BLE001
        pass
    return "\n".join(lines)[-TRACE_LIMIT:]


def _raised(exc: BaseException) -> dict:
    """An exception as data: its class's names along the MRO (builtin ones are re-raised as such)."""
    try:
        names = [c.__name__ for c in type(exc).__mro__ if type(getattr(c, "__name__", None)) is str]
    except Exception:  # noqa: BLE001
        names = ["Exception"]
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001 - a __str__ that fails
        message = f"<{describe(exc)}>"
    try:
        args = encode(tuple(exc.args))
    except Exception:  # noqa: BLE001
        args = None
    return {"types": names[:32], "message": message, "args": args, "trace": _trace(exc), "lines": _lines(exc)}


def _lines(exc: BaseException) -> list[int]:
    """The lines of ``solution.py`` the traceback passes through, as data (the feedback's named lines)."""
    try:
        return [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                if os.path.basename(f.filename) == "solution.py" and type(f.lineno) is int][-20:]
    except Exception:  # noqa: BLE001 - a traceback the candidate tampered with names no lines
        return []


def _kind(value: Any) -> dict:
    """How the test side may use a name of the solution module."""
    if isinstance(value, type) and issubclass(value, BaseException):
        return {"kind": "exception", "types": [c.__name__ for c in value.__mro__]}
    if isinstance(value, type):
        return {"kind": "class"}
    if isinstance(value, types.ModuleType):
        return {"kind": "module"}
    if callable(value):
        return {"kind": "callable"}
    try:
        return {"kind": "value", "value": encode(value)}
    except NotPlain as exc:
        return {"kind": "object", "what": str(exc)}


class Server:
    """The imported solution and the request loop."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.module: types.ModuleType | None = None
        self.failed: dict | None = None

    def _load(self) -> None:
        if self.module is not None or self.failed is not None:
            return
        try:
            import solution  # the candidate, imported on first use only
            self.module = solution
        except BaseException as exc:  # noqa: BLE001 - a candidate that fails to import fails the tests
            self.failed = {**_raised(exc), "trace": traceback.format_exc()[-TRACE_LIMIT:]}

    def handle(self, req: dict) -> dict:
        """One request's reply."""
        self._load()
        if self.failed is not None:
            return {"import_error": self.failed}
        op, space = req.get("op"), vars(self.module)
        if op == "names":
            return {"value": [n for n in list(space) if type(n) is str and not n.startswith("__")]}
        name = req.get("name")
        if name not in space:
            return {"missing": True}
        if op == "attr":
            return _kind(space[name])
        if op == "call":
            return self._call(space[name], req)
        return {"error": f"unknown request {op!r}"}

    def _call(self, fn: Any, req: dict) -> dict:
        try:
            args, kwargs = decode(req["args"]), decode(req["kwargs"])
        except (ValueError, KeyError, TypeError) as exc:
            return {"error": f"unreadable arguments: {exc}"}
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the test side re-raises it as the builtin it derives from
            return {"raised": _raised(exc)}
        reply: dict = {}
        try:
            reply["value"] = encode(result, name="the result")
        except NotPlain as exc:
            reply["not_plain"] = str(exc)
        try:
            after = [encode(args), encode(kwargs)]
            if after != [req["args"], req["kwargs"]]:
                reply["args_after"] = after  # arguments the call changed in place (a list it sorted)
        except (NotPlain, KeyError, TypeError):
            pass
        return reply


def serve(sock) -> None:
    """Answer requests until the test side goes away; then exit."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # the candidate's folder, importable here only
    server = Server(sock)
    while True:
        try:
            req = recv(sock)
        except Exception:  # noqa: BLE001
            req = None
        if req is None:
            break
        with _Printed() as printed:
            try:
                reply = server.handle(req)
            except BaseException as exc:  # noqa: BLE001
                reply = {"error": f"the solution's process failed: {type(exc).__name__}"}
        try:
            send(sock, {**reply, **printed.fields()})
        except Exception:  # noqa: BLE001 - e.g. a float too large for JSON: report instead of dying
            try:
                send(sock, {"error": "the reply could not be sent", **printed.fields()})
            except Exception:  # noqa: BLE001
                break
    os._exit(0)
