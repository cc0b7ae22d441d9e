"""pytest plugin (``-p agentloop.sandbox.pytest_channel``): each outcome sent out the moment it happens.

Descriptor 3 is a pipe to the orchestrator; descriptor 4 holds a per-check key, read and closed at
configure time, before any candidate code is imported. Every message carries the key. What was
sent cannot be taken back: a candidate that fails a test and then rewrites reports at exit, or
exits 0 early, cannot turn the failure already on the pipe into a pass. The key and the writer
live in a closure of a reporter object registered at configure time (no module global for a
candidate to replace), and before each test the reporter checks that pytest's way of running a
test is still pytest's; if not it reports tampering. The orchestrator, not this plugin, decides
the verdict (``agentloop.checks.pytest_runner``). By default the candidate runs in a process of its own
behind the solution boundary (``agentloop.sandbox.boundary``), so no candidate code runs in this
one; with ``sandbox.results: objects`` it is imported here, and code written to attack this plugin
from inside the process could forge it: that is what the static scan is for.

Hypothesis tests: the shrunk failing example is taken from hypothesis's observability API (one
observation per test case, as data: its call representation and JSON arguments), never from the
words hypothesis prints, which changed ("Falsifying example" became "Failing test case" in 6.159).
It is information for the next prompt only; it never enters the verdict.

Behind the solution boundary, a failing test's report also carries the latest calls the test made
into the solution (function name and arguments, as the boundary's plain data), kept by the
boundary's ``solution`` module: the ``trace`` kind replays the last one under a tracer. Like the
examples, this is information for the agents only.
"""

from __future__ import annotations

import json
import os
import sys

_OUT, _KEY = 3, 4
_MAX_EXAMPLES, _MAX_REPR = 5, 2000


def _emitter(key: str, write=os.write):  # os.write bound now, before the candidate runs
    def emit(msg: dict) -> None:
        data = (json.dumps({**msg, "k": key}) + "\n").encode()
        try:
            view = memoryview(data)
            while view:
                view = view[write(_OUT, view):]
        except OSError:
            pass
    return emit


class _Reporter:
    """The hooks, each bound to the emitter made at configure time."""

    def __init__(self, emit) -> None:
        from _pytest.python import Function
        self._emit = emit
        self._function = Function
        self._runtest = Function.runtest  # as pytest defines it, before any candidate code ran
        self._examples: list[dict] = []  # minimal failing hypothesis test cases of the test running now
        self._solution_lines: list[int] = []  # solution.py lines of the current failure, from the boundary
        # the boundary's record of calls into the solution (taken now, before any candidate code ran); None when
        # the candidate runs in this process (sandbox.results: objects) and there is no boundary
        calls = vars(sys.modules["solution"]).get("_calls") if "solution" in sys.modules else None
        self._calls = calls if type(calls) is list else None

    def _intact(self, item) -> bool:
        return (type(item).runtest is self._runtest or not isinstance(item, self._function)) \
            and "runtest" not in vars(item) and self._function.runtest is self._runtest

    def pytest_collectreport(self, report) -> None:  # pytest hook
        """A file that fails to import or collect."""
        if report.failed:
            self._emit({"e": "collect_error", "id": report.nodeid, "text": str(report.longreprtext)[-4000:]})

    def pytest_collection_finish(self, session) -> None:  # pytest hook
        """The test ids about to run."""
        self._emit({"e": "collected", "ids": [item.nodeid for item in session.items]})
        if "hypothesis" in sys.modules:  # a test file that uses hypothesis was just imported
            self._observe_hypothesis()

    def _observe_hypothesis(self) -> None:
        try:
            from hypothesis.internal import observability as obs
        except ImportError:
            return
        # coverage tracing is for observability's own consumers, and would slow every example down
        obs.OBSERVABILITY_COLLECT_COVERAGE = False
        if hasattr(obs, "add_observability_callback"):  # hypothesis >= 6.137
            obs.add_observability_callback(self._observation)
        elif isinstance(getattr(obs, "TESTCASE_CALLBACKS", None), list):
            obs.TESTCASE_CALLBACKS.append(self._observation)

    def _observation(self, observation) -> None:  # hypothesis's Observation or dict
        def field(name: str):  # a dict before hypothesis 6.13x, a dataclass since
            return observation.get(name) if isinstance(observation, dict) else getattr(observation, name, None)
        # "minimal failing example" up to 6.15x, "minimal failing test case" since
        if field("type") == "test_case" and str(field("how_generated")).startswith("minimal failing") \
                and len(self._examples) < _MAX_EXAMPLES:
            try:
                arguments = json.loads(json.dumps(field("arguments") or {}, default=repr))
            except (TypeError, ValueError, RecursionError):
                arguments = {}
            self._examples.append({"call": str(field("representation") or "")[:_MAX_REPR],
                                   "arguments": arguments if len(json.dumps(arguments)) <= _MAX_REPR else {}})

    def pytest_runtest_setup(self, item) -> None:  # pytest hook
        """A new test: forget the examples of the last one."""
        self._examples, self._solution_lines = [], []
        if self._calls is not None:
            self._calls.clear()

    def pytest_runtest_makereport(self, item, call) -> None:  # pytest hook (returns None: pytest makes the report)
        """Behind the solution boundary the candidate's frames are not in pytest's traceback; its lines come as data."""
        if call.excinfo is not None:
            lines = getattr(call.excinfo.value, "agentloop_solution_lines", None)
            if type(lines) is list:
                self._solution_lines = [n for n in lines[:20] if type(n) is int]

    def pytest_runtest_call(self, item) -> None:  # pytest hook
        """Before each test body: pytest's own runner must still be in place."""
        if not self._intact(item):
            self._emit({"e": "tampered", "id": item.nodeid, "what": "pytest's test runner was replaced"})

    def pytest_runtest_logreport(self, report) -> None:  # pytest hook
        """One phase (setup, call, teardown) of one test."""
        msg = {"e": "report", "id": report.nodeid, "when": report.when, "outcome": report.outcome}
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            msg["message"] = str(getattr(crash, "message", ""))[:500]
            msg["text"] = str(report.longreprtext)[-4000:]
            msg["frames"] = _frames(report.longrepr) + [{"file": "solution.py", "line": n} for n in self._solution_lines]
            if report.when == "call" and self._examples:
                msg["examples"] = self._examples
            if report.when == "call" and self._calls:
                msg["calls"] = list(self._calls)
        self._emit(msg)

    def pytest_sessionfinish(self, session, exitstatus) -> None:  # pytest hook
        """The run ended normally."""
        self._emit({"e": "finish", "status": int(exitstatus)})


def _frames(longrepr) -> list[dict]:  # pytest's ExceptionChainRepr or a string
    """The traceback's file and line of each entry, from pytest's report object (not its text)."""
    entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or []
    out = []
    for entry in entries[-20:]:
        loc = getattr(entry, "reprfileloc", None)
        if loc is not None and isinstance(getattr(loc, "lineno", None), int):
            out.append({"file": os.path.basename(str(loc.path)), "line": loc.lineno})
    return out


def keyed_emitter():
    """Read the channel's key from descriptor 4 (and close it): an emitter that sends each message with it.

    Called before any candidate code runs in this process (here, and in ``trace_runner``).
    """
    try:
        key = os.read(_KEY, 256).decode("ascii", "replace")
        os.close(_KEY)
    except OSError:
        key = ""
    return _emitter(key)


def pytest_configure(config) -> None:  # pytest hook
    """Take the key before collection imports the candidate; register the reporter."""
    emit = keyed_emitter()
    config.pluginmanager.register(_Reporter(emit), "agentloop-channel-reporter")
    emit({"e": "start"})
