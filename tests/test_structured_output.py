"""Other tools' results are read as data, not prose: hypothesis, pytest, the C compiler, pip's lock.

Each of these once depended on a tool's wording; a new release of the tool changed it and a
feature went quiet (hypothesis 6.159 renamed "Falsifying example" to "Failing test case").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from agentloop import Task
from agentloop.checks.ctoolchain import CFLAGS, JSON_FLAG, compiler, parse_diagnostics, speaks_json
from agentloop.feedback import load_kind, run_checks
from agentloop.sandbox import Sandbox
from agentloop.sandbox.pytest_channel import _Reporter

needs_cc = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler")
ROOT = Path(__file__).resolve().parents[1]
PROPERTY = """from hypothesis import given, strategies as st
from solution import halve

@given(st.integers(0, 10**6))
def test_halve_undoes_double(n):
    assert halve(2 * n) == n
"""
# wrong from 1000 on: hypothesis must shrink to exactly n=1000
WRONG_HALVE = "def halve(m):\n    return m // 2 if m < 2000 else m // 2 + 1\n"


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


async def test_the_shrunk_example_arrives_as_data_from_hypothesis_itself(sandbox):
    task = Task.from_dict({"name": "t", "prompt": "p", "feedback": [{"kind": "property", "code": PROPERTY}]})
    [fb] = await run_checks(WRONG_HALVE, task, sandbox)
    [failure] = fb.details["failures"]
    [example] = failure["examples"]  # from hypothesis's observability callback, not its printed words
    assert example["arguments"] == {"n": 1000}
    assert fb.details["counterexamples"] == ["test_halve_undoes_double(n=1000)"]
    assert fb.summary.startswith("Counterexample: test_halve_undoes_double(n=1000)")


@pytest.mark.parametrize("label", ["minimal failing example", "minimal failing test case"])
def test_the_channel_takes_the_minimal_failing_case_under_both_of_hypothesiss_labels(label):
    sent = []
    reporter = _Reporter(sent.append)
    reporter._observation({"type": "test_case", "how_generated": "during generate phase", "representation": "f(n=9)",
                           "arguments": {"n": 9}})
    reporter._observation({"type": "test_case", "how_generated": label, "representation": "f(\n    n=5,\n)",
                           "arguments": {"n": 5}})
    assert reporter._examples == [{"call": "f(\n    n=5,\n)", "arguments": {"n": 5}}]


@pytest.mark.parametrize("words", ["Falsifying example", "Failing test case"])
def test_the_text_fallback_knows_both_wordings(words):
    counterexamples = load_kind("property", None).counterexamples
    printed = f"AssertionError: assert 501 == 500\n{words}: test_halve_undoes_double(\n    n=500,\n)\n"
    assert counterexamples([{"message": "AssertionError", "traceback": printed}]) == ["test_halve_undoes_double(n=500)"]


async def test_pytest_traceback_lines_come_from_its_report_objects(sandbox):
    code = "def halve(m):\n    q = m // 2\n    raise ValueError(q)\n"
    task = Task.from_dict({"name": "t", "prompt": "p", "feedback": [
        {"kind": "tests", "code": "from solution import halve\ndef test_h(): assert halve(4) == 2\n"}]})
    [fb] = await run_checks(code, task, sandbox)
    frames = fb.details["failures"][0]["frames"]
    assert {"file": "solution.py", "line": 3} in frames and frames[0]["file"] == "test_task.py"


BROKEN_C = "int f(void) {\n    int unused;\n    return y;\n}\n"


@needs_cc
def test_c_diagnostics_from_the_compilers_json_equal_its_text(tmp_path):
    """Where the compiler speaks JSON (GCC 9-14) it is used, and says what the text says."""
    cc = compiler()
    (tmp_path / "solution.c").write_text(BROKEN_C)

    def diagnose(*extra: str) -> list[dict]:
        err = subprocess.run([cc, *CFLAGS, *extra, "-fsyntax-only", "solution.c"], cwd=tmp_path,
                             capture_output=True, text=True).stderr
        return sorted(parse_diagnostics(err), key=lambda d: (d["line"], d["column"], d["severity"]))

    as_text = diagnose("-fdiagnostics-plain-output")
    assert {(d["line"], d["severity"]) for d in as_text} >= {(2, "warning"), (3, "error")}
    if not speaks_json(cc):
        pytest.skip(f"{cc} has no JSON diagnostics; the text path above is what it uses")
    as_json = diagnose(JSON_FLAG)
    assert [(d["file"], d["line"], d["column"], d["severity"]) for d in as_json] == \
        [(d["file"], d["line"], d["column"], d["severity"]) for d in as_text]


def test_the_lock_pins_every_dependency_the_tests_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in ("local", "remote", "test") for r in project["optional-dependencies"][extra]]
    lock = (ROOT / "requirements" / "lock.txt").read_text()
    pinned = {_canonical(line.split("==")[0]) for line in lock.splitlines() if "==" in line and not line.startswith("#")}
    names = {_canonical(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in wanted}
    assert names - pinned == set()
    assert all("==" in line for line in lock.splitlines() if line.strip() and not line.startswith("#"))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
