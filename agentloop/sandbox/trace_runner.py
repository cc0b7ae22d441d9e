"""The ``trace`` kind's sandbox side: ``python -m agentloop.sandbox.trace_runner SPEC.json``.

Runs inside the sandbox, under the same limits as every check. It reads the spec (the calls to
trace and the bounds) before the candidate exists in this process, takes the channel's key from
descriptor 4, imports ``solution.py``, then makes each call under ``sys.settrace``, tracing only
frames whose code is in ``solution.py``. After each line of the candidate runs it records the
local variables that changed (LDB's intermediate states, per line rather than per basic block),
each through ``safe_repr``: exact builtin values are rendered here without calling anything the
candidate defined; any other object's ``__repr__`` runs under an interval timer, at most
``repr_calls`` times per call, its result cut to ``value_chars`` and escaped. The first
``head_steps`` steps are sent over descriptor 3 the moment they happen, so a candidate that loops
forever or exhausts memory still leaves its beginning; the last ``tail_steps`` are kept in a
ring and sent when the call ends or tracing stops (after ``max_events`` steps, when the call runs
on untraced).

The candidate runs in this process, so it could write its own messages to the channel: the
trace is the candidate's account of its run, advisory information for the agents, never a
verdict. The trusted side (``tools/trace.py``) validates, bounds and escapes every message again.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import signal
import sys
import time
from typing import Any

from .plain import decode, describe
from .pytest_channel import keyed_emitter

SOLUTION = "solution.py"
_SCALARS = (type(None), bool, float, complex)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_BRACKETS: dict[type, tuple[str, str]] = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("{", "}"),
                                         dict: ("{", "}")}


def escape(text: str) -> str:
    """``text`` with every non-printable character (controls, terminal escapes, bidi marks) as a Python escape."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        out.append(ch if ch.isprintable() else f"\\x{code:02x}" if code < 0x100
                   else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


class _Slow(BaseException):
    """Raised by the interval timer inside a ``__repr__`` that takes too long (BaseException: harder to swallow)."""


def _alarm(signum: int, frame: object) -> None:
    raise _Slow


class Renderer:
    """Bounded, escaped text for any value; user-defined ``__repr__`` only under a timer and a count."""

    def __init__(self, chars: int, repr_calls: int, repr_seconds: float = 0.1) -> None:
        self.chars, self.repr_calls, self.repr_seconds = chars, repr_calls, repr_seconds

    def __call__(self, value: Any) -> str:
        """At most ``chars`` characters (plus an ellipsis) standing for ``value``."""
        text = self._render(value, self.chars, 0)
        return escape(text if len(text) <= self.chars else text[: self.chars] + "…")

    def _render(self, value: Any, room: int, depth: int) -> str:
        kind = type(value)
        if kind in _SCALARS:
            return repr(value)
        if kind is int:
            return repr(value) if value.bit_length() <= 512 else f"<int of {value.bit_length()} bits>"
        if kind in (str, bytes, bytearray):
            cut = value[: room + 1]
            return repr(cut) + (f"…({len(value)} long)" if len(value) > room + 1 else "")
        if kind in _BRACKETS:
            return self._container(value, kind, room, depth)
        return self._user(value, room)

    def _container(self, value: Any, kind: type, room: int, depth: int) -> str:
        opening, closing = _BRACKETS[kind]
        if kind in (set, frozenset) and not value:
            return f"{kind.__name__}()"
        if depth >= 4:
            return f"{opening}…{closing}"
        parts, used = [], 2
        items = value.items() if kind is dict else value
        for item in items:  # iterating an exact builtin container calls nothing the candidate defined
            if used >= room:
                parts.append(f"…({len(value)} items)")
                break
            text = (f"{self._render(item[0], room - used, depth + 1)}: {self._render(item[1], room - used, depth + 1)}"
                    if kind is dict else self._render(item, room - used, depth + 1))
            parts.append(text)
            used += len(text) + 2
        tail = "," if kind is tuple and len(value) == 1 else ""
        return opening + ", ".join(parts) + tail + closing

    def _user(self, value: Any, room: int) -> str:
        name = describe(value)
        if self.repr_calls <= 0:
            return f"<{name} object>"
        self.repr_calls -= 1
        previous = signal.signal(signal.SIGALRM, _alarm)
        # repeating: a __repr__ that catches the first interruption is interrupted again
        signal.setitimer(signal.ITIMER_REAL, self.repr_seconds, self.repr_seconds)
        try:
            text = repr(value)
            text = str.__getitem__(text, slice(0, room + 40))  # an exact str, whatever subclass __repr__ returned
            text = _ADDRESS.sub("", text)[: room + 1]  # "<X object at 0x7f…>": the address changes from run to run
        except _Slow:
            text = f"<{name}: __repr__ took longer than {self.repr_seconds:g} s>"
        except BaseException as exc:  # noqa: BLE001 - a failing __repr__ is shown, never raised into the trace
            text = f"<{name}: __repr__ raised {describe(exc)}>"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return text


class Tracer:
    """``sys.settrace`` callbacks recording, per line of ``solution.py`` run, the locals it changed."""

    def __init__(self, filename: str, limits: dict, emit: Any, index: int) -> None:
        self.filename, self.emit, self.index = filename, emit, index
        self.head, self.max_events = int(limits["head_steps"]), int(limits["max_events"])
        self.max_vars = int(limits["max_vars"])
        self.tail: collections.deque = collections.deque(maxlen=int(limits["tail_steps"]))
        self.show = Renderer(int(limits["value_chars"]), int(limits["repr_calls"]))
        self.deadline = time.monotonic() + float(limits["seconds"])
        self.frames: dict[Any, list] = {}  # frame -> [line being run, {name: text} last shown, unwinding]
        self.count, self.stopped = 0, False

    def start(self, frame: Any, event: str, arg: Any) -> Any:
        """A new frame: trace it when its code is the candidate's."""
        if self.stopped or frame.f_code.co_filename != self.filename:
            return None
        self.frames[frame] = [None, {}, False]
        return self.local

    def local(self, frame: Any, event: str, arg: Any) -> Any:
        """After each line (at the next line event, return or exception), what that line changed."""
        state = self.frames.get(frame)
        if self.stopped or state is None:
            return None
        if event == "line":
            if state[0] is not None:
                self._step(frame, state, {})
            state[0], state[2] = frame.f_lineno, False
        elif event == "return":
            if not state[2]:  # right after an exception event, the frame is unwinding: it returns nothing
                self._step(frame, state, {"ret": self.show(arg)})
            self.frames.pop(frame, None)
        elif event == "exception":
            self._step(frame, state, {"exc": describe(arg[1])})
            state[0], state[2] = None, True
        return self.local

    def _step(self, frame: Any, state: list, extra: dict) -> None:
        self.count += 1
        shown = {}
        # ".0": a comprehension's hidden iterator argument, noise to a reader
        names = [(n, v) for n, v in list(frame.f_locals.items()) if not n.startswith(".")]
        for name, value in names[: self.max_vars]:
            text = self.show(value)
            if state[1].get(name) != text:
                shown[name] = text
            state[1][name] = text
        step = {"e": "step", "i": self.index, "n": self.count, "fn": frame.f_code.co_name[:60],
                "depth": len(self.frames), "line": state[0] or frame.f_lineno, "vars": list(shown.items()), **extra}
        if self.count <= self.head:
            self.emit(step)
        else:
            self.tail.append(step)
        if self.count >= self.max_events or time.monotonic() > self.deadline:
            self.stop("limit")

    def stop(self, why: str) -> None:
        """Stop tracing (the call runs on untraced) and send the ring of last steps."""
        if self.stopped:
            return
        self.stopped = True
        sys.settrace(None)
        omitted = self.count - self.head - len(self.tail)
        if omitted > 0:
            self.emit({"e": "gap", "i": self.index, "omitted": omitted})
        for step in self.tail:
            self.emit(step)
        self.tail.clear()
        if why == "limit":
            self.emit({"e": "stopped", "i": self.index, "after": self.count})


def _call(module: Any, call: dict) -> Any:
    if "expr" in call:  # a call the task author wrote (`calls:`): evaluated among the candidate's names
        return eval(compile(call["expr"], "<trace call>", "eval"), vars(module))
    args, kwargs = decode(call.get("args") or {"T": []}), decode(call.get("kwargs") or {"D": []})
    return getattr(module, call["function"])(*args, **kwargs)


def _import(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("solution", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the candidate from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["solution"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Import the candidate, trace each call of the spec, and send every step over the channel."""
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)  # before the candidate's code runs: it cannot have rewritten the file
    emit = keyed_emitter()
    limits = spec["limits"]
    path = os.path.realpath(SOLUTION)
    sys.stdout = sys.stderr  # what the candidate prints is not part of the trace
    try:
        module = _import(path)
    except BaseException as exc:  # noqa: BLE001 - the candidate's failure to import is the report
        emit({"e": "import_error", "error": escape(f"{describe(exc)}: {_message(exc)}")})
        os._exit(0)
    for index, call in enumerate(spec["calls"]):
        tracer = Tracer(path, limits, emit, index)
        emit({"e": "call", "i": index})
        sys.settrace(tracer.start)
        try:
            value = _call(module, call)
            outcome = {"e": "returned", "i": index, "value": tracer.show(value)}
        except BaseException as exc:  # noqa: BLE001 - what the call raised is part of the trace
            outcome = {"e": "raised", "i": index, "error": escape(f"{describe(exc)}: {_message(exc)}")}
        finally:
            sys.settrace(None)
        tracer.stop("end")
        emit({**outcome, "steps": tracer.count})
    emit({"e": "done"})
    os._exit(0)  # no interpreter shutdown: a candidate's atexit hooks or __del__ send nothing after "done"


def _message(exc: BaseException) -> str:
    try:
        return str.__getitem__(str(exc), slice(0, 300))
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "(its message could not be read)"


if __name__ == "__main__":
    main()
