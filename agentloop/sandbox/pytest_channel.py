"""pytest plugin (``-p agentloop.sandbox.pytest_channel``): each outcome sent out the moment it happens.

Descriptor 3 is a pipe to the orchestrator; descriptor 4 holds a per-run key, read and closed at
configure time, before any candidate code is imported. Every message carries the key. What was
sent cannot be taken back: a candidate that fails a test and then rewrites reports at exit, or
exits 0 early, cannot turn the failure already on the pipe into a pass. The orchestrator, not
this plugin, decides the verdict (``agentloop.pytest_runner``).
"""

from __future__ import annotations

import json
import os

_OUT, _KEY = 3, 4
_key = ""


def _emit(msg: dict) -> None:
    data = (json.dumps({**msg, "k": _key}) + "\n").encode()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(_OUT, view):]
    except OSError:
        pass


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest hook
    """Take the key before collection imports the candidate."""
    global _key
    try:
        _key = os.read(_KEY, 256).decode("ascii", "replace")
        os.close(_KEY)
    except OSError:
        _key = ""
    _emit({"e": "start"})


def pytest_collectreport(report) -> None:  # noqa: ANN001 - pytest hook
    """A file that fails to import or collect."""
    if report.failed:
        _emit({"e": "collect_error", "id": report.nodeid, "text": str(report.longreprtext)[-4000:]})


def pytest_collection_finish(session) -> None:  # noqa: ANN001 - pytest hook
    """The test ids about to run."""
    _emit({"e": "collected", "ids": [item.nodeid for item in session.items]})


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001 - pytest hook
    """One phase (setup, call, teardown) of one test."""
    msg = {"e": "report", "id": report.nodeid, "when": report.when, "outcome": report.outcome}
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        msg["message"] = str(getattr(crash, "message", ""))[:500]
        msg["text"] = str(report.longreprtext)[-4000:]
    _emit(msg)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 - pytest hook
    """The run ended normally."""
    _emit({"e": "finish", "status": int(exitstatus)})
