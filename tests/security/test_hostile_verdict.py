"""Hostile candidates that attack the verdict of the `tests` kind: exiting early, skipping or
hiding tests, patching pytest from inside, forging the JUnit report, planting pytest config.

Every candidate here is also plainly wrong (``fizzbuzz`` returns ``str(n)``), so any PASS is the
attack's doing. The refined candidate that follows must pass: the verdict path still works.
"""

from __future__ import annotations

import pytest
from helpers import FIZZ_HIDDEN, FIZZ_TESTS
from hostile_kit import assert_survived, hostile_task, new_sandbox, run_pipeline

from agentloop.checks.pytest_runner import TEST_FILE, run_pytest

TESTS = [{"kind": "tests", "code": FIZZ_TESTS}]
WRONG = "\ndef fizzbuzz(n):\n    return str(n)\n"

EXIT_AT_IMPORT = "import os\nos._exit(0)\n" + WRONG
SYS_EXIT_AT_IMPORT = "import sys\nsys.exit(0)\n" + WRONG
INTERRUPT_AT_IMPORT = "raise KeyboardInterrupt\n" + WRONG
SKIP_AT_IMPORT = "import pytest\npytest.skip('not today', allow_module_level=True)\n" + WRONG
PATCH_RUNTEST = "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n" + WRONG
PATCH_SKIP_ALL = """
import _pytest.python, pytest
_pytest.python.Function.runtest = lambda self: pytest.skip("skipped by the candidate")
""" + WRONG
NEVER_COLLECTED = """
import _pytest.python
_pytest.python.PyCollector.collect = lambda self: []
_pytest.python.Module.collect = lambda self: []
""" + WRONG
# after pytest has written its (failing) report: exit 0 and rewrite the test file
EXIT_ZERO_AT_EXIT = """
import atexit, os
def cover_up():
    try:
        open("test_task.py", "w").write("def test_three(): pass\\ndef test_five(): pass\\n")
    except OSError:
        pass
    os._exit(0)
atexit.register(cover_up)
""" + WRONG
# after pytest has written its report: overwrite it (found from argv or next to the workdir) with a clean one
FORGED_REPORT = """
import atexit, glob, os, sys
CLEAN = ('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" '
         'skipped="0" tests="2"><testcase classname="test_task" name="test_three" time="0.001" />'
         '<testcase classname="test_task" name="test_five" time="0.001" /></testsuite></testsuites>')
def forge():
    argv = open("/proc/self/cmdline", "rb").read().decode(errors="replace").split("\\0")
    paths = [a.split("=", 1)[1] for a in argv if a.startswith("--junitxml=")]
    paths += glob.glob("../*/*.xml") + glob.glob("../*.xml")
    for path in paths:
        try:
            with open(path, "w") as fh:
                fh.write(CLEAN)
        except OSError:
            pass
    os._exit(0)
atexit.register(forge)
""" + WRONG
# plant a conftest that turns every outcome into a pass, then restart pytest without the hardening flags
REEXEC_WITH_CONFTEST = '''
import os, sys
CONFTEST = """
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None
"""
if not os.environ.get("HOSTILE_REEXEC"):
    for name, text in (("conftest.py", CONFTEST), ("../conftest.py", CONFTEST),
                       ("pytest.ini", "[pytest]\\naddopts = -p no:skipping\\n"),
                       ("pyproject.toml", "[tool.pytest.ini_options]\\naddopts = '-p no:skipping'\\n"),
                       ("setup.cfg", "[tool:pytest]\\naddopts = -p no:skipping\\n"),
                       ("tox.ini", "[pytest]\\naddopts = -p no:skipping\\n")):
        try:
            open(name, "w").write(text)
        except OSError:
            pass
    argv = open("/proc/self/cmdline", "rb").read().decode(errors="replace").split("\\0")
    junit = [a for a in argv if a.startswith("--junitxml=")]
    os.environ["HOSTILE_REEXEC"] = "1"
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *junit, "test_task.py"])
''' + WRONG


# verdict bugs found by these tests, open at the time of writing (reported to the lead): strict, so
# that a fix shows up as XPASS and the marker must go

HARNESS_ATTACKS = {
    "os._exit(0) at import": EXIT_AT_IMPORT,
    "sys.exit(0) at import": SYS_EXIT_AT_IMPORT,
    "KeyboardInterrupt at import": INTERRUPT_AT_IMPORT,
    "pytest.skip at import": SKIP_AT_IMPORT,
    "tests never collected": NEVER_COLLECTED,
    "monkeypatched to skip": PATCH_SKIP_ALL,
    "atexit os._exit(0) after a failure": EXIT_ZERO_AT_EXIT,
}


def test_harness_attacks_one_after_another_all_fail(layer, tmp_path):
    """One orchestrator, seven attacks in a row, the static scan off: the runtime defences alone hold."""
    task = hostile_task(tmp_path / "task", layer=layer, candidate=list(HARNESS_ATTACKS.values()), feedback=TESTS,
                        scan=False)
    out = run_pipeline(task)
    assert_survived(out, layer=layer)
    assert len(out.hostile_turns) == len(HARNESS_ATTACKS)
    assert "scan" not in [f.kind for t in out.hostile_turns for f in t.feedback]


@pytest.mark.parametrize("candidate", [
    pytest.param(PATCH_RUNTEST, id="monkeypatched-runtest"),
    pytest.param(FORGED_REPORT, id="forged-junit-report"),
    pytest.param(REEXEC_WITH_CONFTEST, id="reexec-with-conftest"),
])
def test_in_process_attack_on_pytest_fails_the_tests(layer, tmp_path, candidate):
    """The candidate runs inside the pytest process (scan off): it can patch pytest or rewrite its report."""
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, feedback=TESTS, scan=False)
    assert_survived(run_pipeline(task), layer=layer)


# the same patch, written so that a static scan for imports of pytest does not see it: through
# sys.modules, and through the class tree (no import, no sys.modules, no gc, no frames at all)
PATCH_RUNTEST_UNSEEN = "import sys\nsys.modules['_pytest.python'].Function.runtest = lambda self: None\n" + WRONG
PATCH_RUNTEST_VIA_CLASSES = """
def every_class(cls, seen):
    for sub in type.__subclasses__(cls):  # unbound: works for metaclasses too
        if sub not in seen:
            seen.add(sub)
            yield sub
            yield from every_class(sub, seen)
for cls in every_class(object, set()):
    if cls.__name__ == "Function" and cls.__module__ == "_pytest.python":
        cls.runtest = lambda self: None
""" + WRONG


# whatever reports outcomes from inside the process can be rewritten from inside: here the report
# channel's own sender, found in sys.modules (looked up by a computed name), turns failures into passes
FORGE_CHANNEL = """
import os, sys
for name, module in list(getattr(sys, "mod" + "ules").items()):
    send = getattr(module, "_emit", None)
    if "channel" in name and callable(send):
        def forged(msg, send=send):
            if msg.get("e") == "report":
                msg = {k: v for k, v in msg.items() if k not in ("message", "text")} | {"outcome": "passed"}
            if msg.get("e") == "finish":
                send({**msg, "status": 0})
                getattr(os, "_" + "exit")(0)  # exit 0 right after the (forged) finish
            send(msg)
        module._emit = forged
""" + WRONG


@pytest.mark.parametrize("candidate", [
    pytest.param(PATCH_RUNTEST_UNSEEN, id="runtest-via-sys.modules"),
    pytest.param(PATCH_RUNTEST_VIA_CLASSES, id="runtest-via-the-class-tree"),
    pytest.param(FORGE_CHANNEL, id="report-channel-sender-rewritten"),
])
def test_in_process_attack_past_the_scan_fails_the_tests(layer, tmp_path, candidate):
    """With the scan on (the default): the harness reached through ``sys.modules`` instead of an import."""
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, feedback=TESTS)
    assert_survived(run_pipeline(task), layer=layer)


def test_forged_channel_cannot_solve_a_run_with_hidden_tests(tmp_path):
    """End to end, default settings: wrong code must not come out solved, hidden tests passed, exit 0."""
    task = hostile_task(tmp_path / "task", layer="process", candidate=FORGE_CHANNEL, feedback=TESTS, then_good=False,
                        extra={"hidden_tests": FIZZ_HIDDEN})
    out = run_pipeline(task)
    assert out.leftovers == [] and out.stray == []
    assert (out.rc, out.result["status"], out.result["hidden_tests"]) == (1, "unsolved", {"passed": False}), out.result


FAKE_PYTEST = "print('2 passed in 0.01s')\nimport sys\nsys.exit(0)\n"
FORCE_PASS_CONFTEST = REEXEC_WITH_CONFTEST.split('"""')[1]
PLANTED = {
    "pytest.py": FAKE_PYTEST,
    "conftest.py": FORCE_PASS_CONFTEST,
    "pytest.ini": "[pytest]\naddopts = -p no:junitxml --co\n",
    "tox.ini": "[pytest]\naddopts = -p no:junitxml --co\n",
    "setup.cfg": "[tool:pytest]\naddopts = -p no:junitxml --co\n",
    "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-p no:junitxml --co'\n",
    "sitecustomize.py": "import os\nos._exit(0)\n",
    "usercustomize.py": "import os\nos._exit(0)\n",
}


async def test_planted_pytest_and_config_files_are_ignored(layer):
    """Through the Sandbox API: a fake ``pytest.py`` and every config file pytest might read sit in the workdir."""
    box = new_sandbox(layer)
    try:
        async with box.workspace({**PLANTED, "solution.py": WRONG, TEST_FILE: FIZZ_TESTS}) as ws:
            fb = await run_pytest(ws, kind="tests", timeout_s=10, memory_mb=512)
        assert not fb.passed
        assert fb.details.get("total") == 2 and fb.details.get("failed") == 2, fb.summary  # the real tests ran
        async with box.workspace({**PLANTED, "solution.py": "def fizzbuzz(n):\n    return 'Fizz' if n == 3 else 'Buzz'\n",
                                  TEST_FILE: FIZZ_TESTS}) as ws:
            good = await run_pytest(ws, kind="tests", timeout_s=10, memory_mb=512)
        assert good.passed, good.summary  # and the next run works
    finally:
        box.close()
