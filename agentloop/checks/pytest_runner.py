"""Running pytest test code against a candidate in the sandbox; the verdict is decided out here.

pytest runs hardened (no plugin autoload, no conftest, no ini files, no cache, explicit test
file) with one plugin of ours that streams each outcome over a pipe as it happens
(``agentloop.sandbox.pytest_channel``). This trusted process then requires: every message
carries the run's key; the tests collected are exactly the test functions a parse of the test
file finds; each ran once, passed, none skipped; pytest finished and exited 0; the test file is
unchanged. A verdict is never parsed from stdout, and a failure already sent cannot be undone.
"""

from __future__ import annotations

import ast
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import ExecResult, Workspace, python_argv
from . import Feedback, trim

TEST_FILE = "test_task.py"
# our own empty ini, written by us: without one, pytest 9 walks (and with -c /dev/null, scans) the
# folders above the workdir, which Landlock rightly refuses; with it, ini files the candidate
# writes are never read
INI_FILE = "agentloop-pytest.ini"
CHANNEL_PLUGIN = "agentloop.sandbox.pytest_channel"
BOUNDARY = "agentloop.sandbox.boundary"


@dataclass
class PytestOutcome:
    """What the channel said: tests collected, failures, skips, and anything that broke the rules."""

    names: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    skipped: int = 0
    finished: bool = False
    problems: list[str] = field(default_factory=list)  # tampering or protocol violations

    @property
    def total(self) -> int:
        """Tests collected."""
        return len(self.names)


def pytest_argv(test_file: str = TEST_FILE, plugins: tuple[str, ...] = (), plain: bool = True) -> list[str]:
    """pytest with no plugins but ours (and ``plugins``), no conftest, ini files or cache.

    ``plain``: behind the solution boundary (``agentloop.sandbox.boundary``): the candidate runs in
    a process of its own and only plain data reaches the tests. Otherwise pytest imports it.
    """
    loaded = [arg for name in (CHANNEL_PLUGIN, *plugins) for arg in ("-p", name)]
    # importlib mode: pytest never puts the work folder (which the candidate can write) on sys.path
    runner = ["-m", BOUNDARY, "--import-mode=importlib"] if plain else ["-m", "pytest"]
    return python_argv(*runner, "-q", "-p", "no:cacheprovider", *loaded, "--noconftest", "-c", INI_FILE,
                       "--rootdir=.", "--tb=short", test_file)


def expected_tests(source: str) -> set[str] | None:
    """Test function names (``Class::test`` for methods) a parse of the test file finds; None if unparsable."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {f"{node.name}::{f.name}" for f in node.body
                      if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")}
    return names


def _base_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1].split("[", 1)[0]


def read_channel(data: bytes, key: str) -> PytestOutcome:
    """Fold the channel's messages into an outcome, recording every rule broken."""
    out = PytestOutcome()
    seen: set[tuple[str, str]] = set()
    failed: set[str] = set()
    for raw in data.splitlines():
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError):  # with results: objects the candidate shares pytest's process and channel
            out.problems.append("unreadable message on the report channel")
            continue
        if not isinstance(msg, dict) or msg.get("k") != key:
            out.problems.append("message on the report channel without the run's key")
            continue
        kind = msg.get("e")
        if kind == "collected":
            if out.names:
                out.problems.append("tests collected twice")
            out.names = [str(i) for i in msg.get("ids", [])]
        elif kind == "collect_error":
            out.failures.append({"test": str(msg.get("id")), "kind": "error", "message": "collection failed",
                                 "traceback": trim(str(msg.get("text", "")), 1500)})
        elif kind == "report":
            _report(out, msg, seen, failed)
        elif kind == "finish":
            out.finished = True
        elif kind == "tampered":
            out.problems.append(f"{msg.get('id')}: {str(msg.get('what'))[:200]}")
    return out


def _report(out: PytestOutcome, msg: dict, seen: set, failed: set) -> None:
    test, when, outcome = str(msg.get("id")), str(msg.get("when")), msg.get("outcome")
    if (test, when) in seen:
        out.problems.append(f"{test} reported twice")
    seen.add((test, when))
    if outcome == "skipped":
        out.skipped += 1
    elif outcome == "failed" and test not in failed:
        failed.add(test)
        failure: dict[str, Any] = {"test": _base_name(test), "kind": "failure" if when == "call" else "error",
                   "message": trim(str(msg.get("message", "")), 500),
                   "traceback": trim(str(msg.get("text", "")), 1500)}
        if examples := _examples(msg.get("examples")):
            failure["examples"] = examples
        if calls := _calls(msg.get("calls")):
            failure["calls"] = calls
        if isinstance(msg.get("frames"), list):
            failure["frames"] = [{"file": str(f.get("file"))[:200], "line": f["line"]} for f in msg["frames"][:20]
                                 if isinstance(f, dict) and type(f.get("line")) is int]
        out.failures.append(failure)


def _examples(raw: object) -> list[dict]:
    """Hypothesis's minimal failing test cases as the plugin sent them: bounded, plain data, else nothing."""
    if not isinstance(raw, list):
        return []
    return [{"call": trim(str(e.get("call", "")), 500),
             "arguments": e["arguments"] if isinstance(e.get("arguments"), dict) else {}}
            for e in raw[:5] if isinstance(e, dict)]


def _calls(raw: object) -> list[dict]:
    """The test's latest calls into the solution as the boundary recorded them: bounded plain data, else nothing.

    They are only replayed by the ``trace`` kind (decoded as plain data in the sandbox), never judged.
    """
    if not isinstance(raw, list):
        return []
    return [{"function": c["function"], "args": c.get("args"), "kwargs": c.get("kwargs")} for c in raw[-3:]
            if isinstance(c, dict) and isinstance(c.get("function"), str) and c["function"].isidentifier()
            and len(json.dumps(c)) <= 4000]


def why_not_passed(outcome: PytestOutcome, result: ExecResult, expected: set[str] | None) -> list[str]:
    """Every reason the run cannot count as a pass (empty: it passed)."""
    reasons = list(outcome.problems)
    if outcome.failures:
        reasons.append(f"{len(outcome.failures)} failed")
    if outcome.skipped:
        reasons.append(f"{outcome.skipped} skipped (a skipped test counts as a failure)")
    if not outcome.finished:
        reasons.append("pytest did not finish normally")
    if not result.ok:
        reasons.append(f"pytest ended with status {result.status} (exit {result.returncode})")
    collected = {_base_name(n) for n in outcome.names}
    if expected is not None and collected != expected:
        missing = sorted(expected - collected)
        reasons.append(f"collected tests differ from the test file (missing: {', '.join(missing[:5]) or 'none'})")
    return reasons


async def run_pytest(ws: Workspace, *, kind: str, timeout_s: float, memory_mb: int,
                     plugins: tuple[str, ...] = (), plain: bool = True) -> Feedback:
    """Run ``test_task.py`` in the workspace and turn the channel's outcome into feedback.

    ``plain`` (a task's ``sandbox.results: plain``, the default): through the solution boundary.
    """
    source = (ws.workdir / TEST_FILE).read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = secrets.token_hex(16)
    ws.write(INI_FILE, "[pytest]\n")
    result = await ws.run(pytest_argv(plugins=plugins, plain=plain), timeout_s=timeout_s, memory_mb=memory_mb,
                          import_workdir=bool(plugins), channel=key.encode())
    outcome = read_channel(result.channel, key)
    if _digest(ws) != digest:
        outcome.problems.append("the test file was changed during the run")
    if outcome.total == 0 and not outcome.failures:
        return _no_report(kind, result, timeout_s, outcome)
    reasons = why_not_passed(outcome, result, expected_tests(source))
    failed = len(outcome.failures)
    good = max(outcome.total - failed - outcome.skipped, 0)
    lines = [f"{good} of {outcome.total} tests passed."]
    lines += [f"FAILED {f['test']}: {f['message']}\n{f['traceback']}" for f in outcome.failures]
    lines += [f"Not a pass: {r}." for r in reasons if not r.endswith(("failed",))]
    details = {"total": outcome.total, "failed": failed, "skipped": outcome.skipped,
               "names": [_base_name(n) for n in outcome.names], "failures": outcome.failures,
               "status": result.status, "problems": outcome.problems, "isolation": result.isolation}
    return Feedback(kind=kind, passed=not reasons, score=good / outcome.total if outcome.total else 0.0,
                    summary="\n".join(lines), details=details)


def _digest(ws: Workspace) -> str:
    try:
        return hashlib.sha256((ws.workdir / TEST_FILE).read_bytes()).hexdigest()
    except OSError:
        return ""


def _no_report(kind: str, result: ExecResult, timeout_s: float, outcome: PytestOutcome) -> Feedback:
    if result.status == "timeout":
        head = f"The tests did not finish within {timeout_s:g} s (timeout)."
    else:
        head = f"pytest produced no test results (status {result.status}, exit {result.returncode})."
    tail = trim(result.stdout[-3000:] + result.stderr[-3000:], 1500)
    return Feedback(kind=kind, passed=False, score=0.0, summary=f"{head}\n{tail}".strip(),
                    details={"status": result.status, "returncode": result.returncode, "output_tail": tail,
                             "problems": outcome.problems, "isolation": result.isolation})
