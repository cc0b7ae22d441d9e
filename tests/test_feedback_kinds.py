"""The packaged feedback kinds (compile, tests, run) on real candidates in the real sandbox."""

from __future__ import annotations

import shutil

import pytest

from agentloop import Task
from agentloop.feedback import combined_score, run_checks
from agentloop.sandbox import Sandbox

needs_cc = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler")


@pytest.fixture
async def sandbox():
    box = Sandbox()
    yield box
    box.close()


def task(feedback: list, language: str = "python", **kw) -> Task:
    return Task.from_dict({"name": "t", "prompt": "p", "language": language, "feedback": feedback, **kw})


async def test_python_syntax_error_reports_line(sandbox):
    code = "def f(x):\n    return x +\n"
    [fb] = await run_checks(code, task([{"kind": "compile"}]), sandbox)
    assert not fb.passed and fb.score == 0
    assert "solution.py:2" in fb.summary
    assert fb.details["diagnostics"][0]["line"] == 2


async def test_tests_report_failing_names_and_assertions(sandbox):
    tests = ("from solution import f\n"
             "def test_ok(): assert f(1) == 2\n"
             "def test_bad(): assert f(2) == 5\n")
    [fb] = await run_checks("def f(x):\n    return x * 2\n", task([{"kind": "tests", "code": tests}]), sandbox)
    assert not fb.passed
    assert fb.score == pytest.approx(0.5)
    assert fb.details["failures"][0]["test"] == "test_bad"
    assert "assert 4 == 5" in fb.summary


async def test_tests_pass_and_weights_combine(sandbox):
    tests = "from solution import f\ndef test_ok(): assert f(1) == 2\n"
    t = task([{"kind": "compile", "weight": 1}, {"kind": "tests", "code": tests, "weight": 3}])
    fbs = await run_checks("def f(x):\n    return x * 2\n", t, sandbox)
    assert all(f.passed for f in fbs) and combined_score(fbs) == 1.0
    fbs = await run_checks("def f(x):\n    return 0\n", t, sandbox)
    assert combined_score(fbs) == pytest.approx(0.25)


async def test_printing_passed_does_not_pass(sandbox):
    code = "print('1 passed in 0.01s')\nimport os\nos._exit(0)\n"
    tests = "from solution import f\ndef test_ok(): assert f(1) == 2\n"
    scan, fb = await run_checks(code, task([{"kind": "tests", "code": tests}]), sandbox)
    assert scan.kind == "scan" and not scan.passed and "os._exit" in scan.summary
    assert fb.kind == "tests" and not fb.passed


async def test_skipped_tests_count_as_failures(sandbox):
    tests = "import pytest\nfrom solution import f\ndef test_ok():\n    pytest.skip('no')\n"
    [fb] = await run_checks("def f(x): return x\n", task([{"kind": "tests", "code": tests}]), sandbox)
    assert not fb.passed and "skipped" in fb.summary


async def test_hanging_candidate_times_out_as_feedback(sandbox):
    tests = "from solution import f\ndef test_ok(): assert f(1) == 2\n"
    t = task([{"kind": "tests", "code": tests}], sandbox={"timeout_s": 2})
    [fb] = await run_checks("def f(x):\n    while True: pass\n", t, sandbox)
    assert not fb.passed and "timeout" in fb.summary


async def test_run_cases_compare_stdout(sandbox):
    t = task([{"kind": "run", "cases": [{"stdin": "3\n", "stdout": "6\n"}, {"stdin": "5\n", "stdout": "10"}]}])
    [fb] = await run_checks("print(int(input()) * 2)\n", t, sandbox)
    assert fb.passed and fb.score == 1.0
    [fb] = await run_checks("print(int(input()) + 3)\n", t, sandbox)
    assert not fb.passed and fb.score == 0.5
    assert "expected '10'" in fb.summary and "got      '8\\n'" in fb.summary


@needs_cc
async def test_c_compile_error_has_file_line_column(sandbox):
    code = "int add(int a, int b) {\n    return a + b\n}\n"
    [fb] = await run_checks(code, task([{"kind": "compile"}], language="c"), sandbox)
    assert not fb.passed
    diag = fb.details["diagnostics"][0]
    assert diag["file"] == "solution.c" and diag["line"] in (2, 3) and diag["severity"] == "error"
    assert f"solution.c:{diag['line']}:" in fb.summary


@needs_cc
async def test_c_tests_and_run(sandbox):
    code = '#include <stdio.h>\nint add(int a, int b) { return a + b; }\n' \
           'int main(void) { int a, b; if (scanf("%d %d", &a, &b) != 2) return 1; printf("%d\\n", add(a, b)); return 0; }\n'
    tests = '#include <assert.h>\n#define main solution_main\n#include "solution.c"\n#undef main\n' \
            'int main(void) { assert(add(2, 3) == 5); assert(add(-1, 1) == 1); return 0; }\n'
    t = task([{"kind": "tests", "code": tests}, {"kind": "run", "cases": [{"stdin": "2 3", "stdout": "5"}]}], language="c")
    tests_fb, run_fb = await run_checks(code, t, sandbox)
    assert not tests_fb.passed and "Assertion" in tests_fb.summary
    assert run_fb.passed
