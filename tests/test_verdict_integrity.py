"""A candidate must never turn a failure into a pass: pytest channel rules, JSON-typed cases, the scan."""

from __future__ import annotations

import pytest

from agentloop import Task
from agentloop.feedback import all_passed, run_checks
from agentloop.sandbox import Sandbox

TESTS = "from solution import f\ndef test_one(): assert f(1) == 2\ndef test_two(): assert f(2) == 4\n"
GOOD = "def f(x):\n    return 2 * x\n"
WRONG = "def f(x):\n    return x\n"


@pytest.fixture
async def sandbox():
    box = Sandbox()
    yield box
    box.close()


def task(feedback: list, **sandbox) -> Task:
    return Task.from_dict({"name": "t", "prompt": "p", "feedback": feedback, "sandbox": sandbox})


async def verdict(sandbox, code: str, feedback: list | None = None, **sb) -> list:
    return await run_checks(code, task(feedback or [{"kind": "tests", "code": TESTS}], **sb), sandbox)


async def test_honest_candidates_pass_and_fail(sandbox):
    assert all_passed(await verdict(sandbox, GOOD))
    assert not all_passed(await verdict(sandbox, WRONG))


# Each attack is run with the scan off, so the sandbox and the trusted verdict alone must hold.
ATTACKS = {
    "exit 0 at import": "import os\nos._exit(0)\n",
    "sys.exit at import": "import sys\nsys.exit(0)\n",
    "atexit rewrite after failure": (WRONG + "import atexit, os\n"
                                     "atexit.register(lambda: (os.write(3, b'{\"e\": \"finish\", \"status\": 0}\\n'),"
                                     " os._exit(0)))\n"),
    "forged channel messages": (WRONG + "import os, json\n"
                                "for m in ({'e': 'collected', 'ids': ['test_task.py::test_one']},"
                                " {'e': 'report', 'id': 'test_task.py::test_one', 'when': 'call', 'outcome': 'passed'},"
                                " {'e': 'finish', 'status': 0}):\n"
                                "    os.write(3, (json.dumps({**m, 'k': ''}) + '\\n').encode())\n"
                                "os._exit(0)\n"),
    "skip everything": "import pytest\npytest.skip('no', allow_module_level=True)\n",
    "rewrite the test file": (WRONG + "open('test_task.py', 'w').write('def test_one(): pass\\n')\n"),
    "conftest and ini written by the candidate": (
        WRONG + "open('conftest.py', 'w').write('import pytest\\n@pytest.hookimpl(hookwrapper=True)\\n"
        "def pytest_runtest_makereport(item, call):\\n    o = yield\\n    o.get_result().outcome = \"passed\"\\n')\n"
        "open('pytest.ini', 'w').write('[pytest]\\naddopts = -p no:agentloop.sandbox.pytest_channel\\n')\n"),
}
# fools an assert in the candidate's own process (sandbox.results: objects); the default solution
# boundary and `cases` both stop it (see docs/security.md; tests/security/test_lying_values.py)
ALWAYS_EQUAL = "class A:\n    def __eq__(self, o): return True\ndef f(x):\n    return A()\n"


@pytest.mark.parametrize("name", sorted(ATTACKS))
async def test_attacks_on_the_pytest_verdict_fail(sandbox, name):
    feedback = await verdict(sandbox, ATTACKS[name], scan=False)
    assert not all_passed(feedback), (name, [f.summary for f in feedback])


async def test_a_fake_pytest_module_in_the_workdir_is_not_imported(sandbox):
    fake = "print('2 passed')\nimport os\nos._exit(0)\n"
    async with sandbox.workspace({"pytest.py": fake, "solution.py": WRONG, "test_task.py": TESTS}) as ws:
        from agentloop.checks.pytest_runner import run_pytest
        fb = await run_pytest(ws, kind="tests", timeout_s=10, memory_mb=512)
    assert not fb.passed and "0 of 2 tests passed" in fb.summary and "FAILED test_one" in fb.summary


async def test_uncollected_tests_fail_even_if_the_rest_pass(sandbox):
    # the candidate deletes one test function from the module at import: collected != the test file's tests
    code = GOOD + "import sys\nsys.modules.get('test_task') and None\n"
    tests = TESTS + "import solution\ndel test_two\n"
    feedback = await verdict(sandbox, code, [{"kind": "tests", "code": tests}], scan=False)
    assert not all_passed(feedback)
    assert "collected tests differ" in feedback[-1].summary


CASES = [{"call": "f(1)", "expect": 2}, {"call": "f(2)", "expect": 4}, {"call": "f(0) == 0", "expect": True}]


async def test_cases_compare_json_values_in_the_trusted_process(sandbox):
    [ok] = await verdict(sandbox, GOOD, [{"kind": "cases", "cases": CASES}])
    assert ok.passed and ok.score == 1.0
    [bad] = await verdict(sandbox, WRONG, [{"kind": "cases", "cases": CASES}])
    assert not bad.passed and "f(1): expected 2, got 1" in bad.summary


async def test_cases_are_typed_true_is_not_one(sandbox):
    [fb] = await verdict(sandbox, "def f(x):\n    return True\n", [{"kind": "cases", "cases": [{"call": "f(1)", "expect": 1}]}])
    assert not fb.passed


async def test_an_always_equal_object_fails_the_tests_only_behind_the_boundary(sandbox):
    [fb] = await verdict(sandbox, ALWAYS_EQUAL, scan=False)
    assert not fb.passed and "the result is an A, not plain data" in fb.summary
    [fooled] = await verdict(sandbox, ALWAYS_EQUAL, scan=False, results="objects")
    assert fooled.passed  # why the boundary is the default


@pytest.mark.parametrize("code", [ALWAYS_EQUAL, ATTACKS["exit 0 at import"], ATTACKS["forged channel messages"]])
async def test_cases_resist_the_attacks(sandbox, code):
    [fb] = await verdict(sandbox, code, [{"kind": "cases", "cases": CASES}], scan=False)
    assert not fb.passed


@pytest.mark.parametrize("code, what", [
    ("import os\nos._exit(0)\n", "os._exit"),
    ("import atexit\natexit.register(print)\n", "atexit.register"),
    ("import sys\nx = sys._getframe(1).f_locals\n", "sys._getframe"),
    ("import builtins\nbuiltins.len = lambda x: 0\n", "builtins"),
    ("import sys\nsys.modules['pytest'] = None\n", "sys.modules"),
    ("open('test_task.py', 'w').write('')\n", "test, config or report file"),
    ("import ctypes\n", "ctypes"),
    ("import sys\nsys.modules['agentloop.sandbox.pytest_channel']._emit = print\n", "sys.modules"),
    ("g = f.__globals__\n", "__globals__"),
    ("x = __import__('g' + 'c')\n", "__import__"),
])
async def test_the_scan_fails_tampering_candidates(sandbox, code, what):
    feedback = await verdict(sandbox, GOOD + code)
    scan = [f for f in feedback if f.kind == "scan"]
    assert scan and not scan[0].passed and what in scan[0].summary
    assert not all_passed(feedback)


async def test_the_scan_adds_nothing_for_clean_code(sandbox):
    feedback = await verdict(sandbox, GOOD)
    assert [f.kind for f in feedback] == ["tests"] and "isolation" in feedback[0].details


# with results: objects the candidate runs in pytest's own process, next to the report channel (descriptor 3)
DEEP_LINE = "import os\ntry:\n    os.write(3, b'[' * 5000 + b'\\n')\nexcept OSError:\n    pass\n" + GOOD


async def test_a_deeply_nested_line_on_the_report_channel_is_a_failing_verdict_not_a_crash(sandbox):
    feedback = await verdict(sandbox, DEEP_LINE, scan=False, results="objects")
    assert not all_passed(feedback)  # an unreadable message breaks the channel's rules: never a pass
