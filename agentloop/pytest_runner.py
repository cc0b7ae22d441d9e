"""Running pytest test code against a candidate in the sandbox and reading its JUnit report.

The verdict comes from the report and the exit status, never from what the program printed:
printing "1 passed" does nothing. But the candidate runs inside the pytest process as the same
user, so until the sandbox's hardening (separate uid / bubblewrap, read-only report channel)
lands, code written to attack the harness could still rewrite the report; see README, Sandbox.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .feedback import Feedback, trim
from .sandbox import ExecResult, Workspace, python_argv

TEST_FILE = "test_task.py"
REPORT = "junit.xml"


@dataclass
class PytestOutcome:
    """Counts, test names and failures read from one JUnit report."""

    total: int = 0
    failures: list[dict] = field(default_factory=list)
    skipped: int = 0
    names: list[str] = field(default_factory=list)


def pytest_argv(test_file: str = TEST_FILE, plugins: tuple[str, ...] = ()) -> list[str]:
    """pytest with no plugins (but ``plugins``), conftest, ini files or cache; the report goes outside the work folder."""
    loaded = [arg for name in plugins for arg in ("-p", name)]
    return python_argv("-m", "pytest", "-q", "-p", "no:cacheprovider", *loaded, "--noconftest", "-c", "/dev/null",
                       "--rootdir=.", "--tb=short", "-o", "junit_family=xunit1",
                       f"--junitxml={{report}}/{REPORT}", test_file)


def read_report(xml: bytes) -> PytestOutcome | None:
    """Parse a JUnit XML report; ``None`` if it is not one."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    outcome = PytestOutcome()
    for case in root.iter("testcase"):
        outcome.total += 1
        outcome.names.append(case.get("name", "?"))
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                outcome.failures.append({"test": case.get("name", "?"), "kind": tag,
                                         "message": trim(node.get("message") or "", 500),
                                         "traceback": trim(node.text or "", 1500)})
                break
        else:
            if case.find("skipped") is not None:
                outcome.skipped += 1
    return outcome


async def run_pytest(ws: Workspace, *, kind: str, timeout_s: float, memory_mb: int,
                     plugins: tuple[str, ...] = ()) -> Feedback:
    """Run ``test_task.py`` in the workspace and turn the report into feedback."""
    result = await ws.run(pytest_argv(plugins=plugins), timeout_s=timeout_s, memory_mb=memory_mb, artifacts=(REPORT,),
                          import_workdir=bool(plugins))
    outcome = read_report(result.artifacts[REPORT]) if REPORT in result.artifacts else None
    if outcome is None or outcome.total == 0:
        return _no_report(kind, result, timeout_s)
    failed = len(outcome.failures)
    passed = result.ok and failed == 0 and outcome.skipped == 0
    good = outcome.total - failed - outcome.skipped
    lines = [f"{good} of {outcome.total} tests passed."]
    if outcome.skipped:
        lines.append(f"{outcome.skipped} skipped (a skipped test counts as a failure).")
    for f in outcome.failures:
        lines.append(f"FAILED {f['test']}: {f['message']}\n{f['traceback']}")
    if result.status != "ok" and not outcome.failures:
        lines.append(f"pytest ended with status {result.status} (exit {result.returncode}).")
    details = {"total": outcome.total, "failed": failed, "skipped": outcome.skipped, "names": outcome.names,
               "failures": outcome.failures, "status": result.status}
    return Feedback(kind=kind, passed=passed, score=good / outcome.total, summary="\n".join(lines), details=details)


def _no_report(kind: str, result: ExecResult, timeout_s: float) -> Feedback:
    if result.status == "timeout":
        head = f"The tests did not finish within {timeout_s:g} s (timeout)."
    else:
        head = f"pytest produced no test results (status {result.status}, exit {result.returncode})."
    tail = trim(result.stdout[-3000:] + result.stderr[-3000:], 1500)
    return Feedback(kind=kind, passed=False, score=0.0, summary=f"{head}\n{tail}".strip(),
                    details={"status": result.status, "returncode": result.returncode, "output_tail": tail})
