"""pytest plugin (``-p agentloop.sandbox.pytest_channel``): each outcome sent out the moment it happens.

Descriptor 3 is a pipe to the orchestrator; descriptor 4 holds a per-check key, read and closed at
configure time, before any candidate code is imported. Every message carries the key. What was
sent cannot be taken back: a candidate that fails a test and then rewrites reports at exit, or
exits 0 early, cannot turn the failure already on the pipe into a pass. The key and the writer
live in a closure of a reporter object registered at configure time (no module global for a
candidate to replace), and before each test the reporter checks that pytest's way of running a
test is still pytest's; if not it reports tampering. The orchestrator, not this plugin, decides
the verdict (``agentloop.pytest_runner``). Code written to attack this plugin from inside the
process can still forge it: that is what the static scan and the ``cases`` kind are for.
"""

from __future__ import annotations

import json
import os

_OUT, _KEY = 3, 4


def _emitter(key: str, write=os.write):  # noqa: ANN001, ANN202 - os.write bound now, before the candidate runs
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

    def __init__(self, emit) -> None:  # noqa: ANN001
        from _pytest.python import Function
        self._emit = emit
        self._function = Function
        self._runtest = Function.runtest  # as pytest defines it, before any candidate code ran

    def _intact(self, item) -> bool:  # noqa: ANN001
        return (type(item).runtest is self._runtest or not isinstance(item, self._function)) \
            and "runtest" not in vars(item) and self._function.runtest is self._runtest

    def pytest_collectreport(self, report) -> None:  # noqa: ANN001 - pytest hook
        """A file that fails to import or collect."""
        if report.failed:
            self._emit({"e": "collect_error", "id": report.nodeid, "text": str(report.longreprtext)[-4000:]})

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001 - pytest hook
        """The test ids about to run."""
        self._emit({"e": "collected", "ids": [item.nodeid for item in session.items]})

    def pytest_runtest_call(self, item) -> None:  # noqa: ANN001 - pytest hook
        """Before each test body: pytest's own runner must still be in place."""
        if not self._intact(item):
            self._emit({"e": "tampered", "id": item.nodeid, "what": "pytest's test runner was replaced"})

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001 - pytest hook
        """One phase (setup, call, teardown) of one test."""
        msg = {"e": "report", "id": report.nodeid, "when": report.when, "outcome": report.outcome}
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            msg["message"] = str(getattr(crash, "message", ""))[:500]
            msg["text"] = str(report.longreprtext)[-4000:]
        self._emit(msg)

    def pytest_sessionfinish(self, session, exitstatus) -> None:  # noqa: ANN001 - pytest hook
        """The run ended normally."""
        self._emit({"e": "finish", "status": int(exitstatus)})


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest hook
    """Take the key before collection imports the candidate; register the reporter."""
    try:
        key = os.read(_KEY, 256).decode("ascii", "replace")
        os.close(_KEY)
    except OSError:
        key = ""
    emit = _emitter(key)
    config.pluginmanager.register(_Reporter(emit), "agentloop-channel-reporter")
    emit({"e": "start"})
