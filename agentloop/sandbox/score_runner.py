"""A scored objective's evaluator behind the solution boundary: ``python -m agentloop.sandbox.score_runner FILE``.

Inside the sandbox (already confined), as ``boundary`` does for pytest: the evaluator's source is
read, then the candidate's process is forked (it imports ``solution`` lazily and never holds
descriptors 3 and 4), then the report channel's key is read. The evaluator runs here with
``solution`` as the proxy module, so only plain data comes back from the candidate; what the
evaluator prints with ``print``/``sys.stdout`` is captured in this process's memory (bounded),
and sent with the key over descriptor 3. What the candidate prints goes to stderr, never into
that capture, and its process has no way to the channel: a fake score line it prints (or writes
to descriptor 1) is just output. The trusted side (``tools/score.py``) parses and validates it.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import threading
import traceback

from .boundary import SolutionModule, _Connection, fork_solution

_OUT, _KEY = 3, 4
CAPTURE_LIMIT = 64 << 10  # characters of evaluator output kept; more is an error, not a truncation
CHANNEL_LIMIT = 1 << 20  # the runner sends at most 64 Ki characters of output (JSON-escaped) plus a trace


def received(data: bytes, key: str) -> dict | None:
    """The trusted side's reading of the runner's one keyed message; None if it is missing, forged,
    doubled or oversized."""
    lines = data.splitlines()
    if len(data) > CHANNEL_LIMIT or len(lines) != 1:
        return None
    try:
        msg = json.loads(lines[0])
    except (ValueError, RecursionError):  # malformed or absurdly nested: not the runner's message
        return None
    return msg if isinstance(msg, dict) and msg.get("k") == key else None


class _Capture(io.StringIO):
    """The evaluator's stdout, in memory; past ``CAPTURE_LIMIT`` it only remembers that it overflowed."""

    overflow = False

    def write(self, text: str) -> int:
        if self.tell() + len(text) > CAPTURE_LIMIT:
            self.overflow = True
            return len(text)
        return super().write(text)


class _CandidateToStderr(_Connection):
    """The boundary's connection, with what the candidate printed routed to stderr, not the capture."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        super().__init__(sock, pid)
        self._route = threading.Lock()

    def request(self, message: dict) -> dict:
        __tracebackhide__ = True
        with self._route:  # one route at a time: a swap by another thread must not leak into the capture
            saved, sys.stdout = sys.stdout, sys.stderr
            try:
                return super().request(message)
            finally:
                sys.stdout = saved


def _evaluate(source: str, capture: _Capture) -> dict:
    saved = sys.stdout
    sys.stdout = capture
    try:
        exec(compile(source, "evaluator.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return {"error": f"the evaluator exited with status {exc.code}"}
    except BaseException as exc:  # noqa: BLE001 - the evaluator's failure (often the candidate's) is the report
        trace = "".join(traceback.format_exception(exc))[-3000:]
        return {"error": f"the evaluator raised {type(exc).__name__}: {str(exc)[:300]}", "trace": trace}
    finally:
        sys.stdout = saved
    if capture.overflow:
        return {"error": f"the evaluator printed more than {CAPTURE_LIMIT} bytes"}
    return {"stdout": capture.getvalue()}


def main() -> None:
    """Fork the candidate's process, then run the evaluator here and send what it printed."""
    with open(sys.argv[1], encoding="utf-8") as f:
        source = f.read()  # before the candidate's process exists: it cannot have rewritten the file
    here = os.path.realpath(os.getcwd())  # the work folder (the candidate can write it) is never imported from here
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != here]
    ours, pid = fork_solution()  # non-dumpable first: the candidate (same uid) cannot reach our descriptors
    try:
        key = os.read(_KEY, 256).decode("ascii", "replace")
        os.close(_KEY)
    except OSError:
        key = ""
    sys.modules["solution"] = SolutionModule(_CandidateToStderr(ours, pid))
    report = _evaluate(source, _Capture())
    data = (json.dumps({**report, "k": key}) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(_OUT, view):]
    raise SystemExit(0)


if __name__ == "__main__":
    main()
