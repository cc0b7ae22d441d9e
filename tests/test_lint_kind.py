"""The `lint` feedback kind: line-level static diagnostics."""

from __future__ import annotations

from agentloop import Task
from agentloop.feedback import run_checks
from agentloop.sandbox import Sandbox


async def lint(code: str, **options):
    task = Task.from_dict({"name": "t", "prompt": "p", "feedback": [{"kind": "lint", **options}]})
    sandbox = Sandbox()
    try:
        [fb] = await run_checks(code, task, sandbox)
    finally:
        sandbox.close()
    return fb


async def test_unused_names_and_undefined_names_are_reported_with_lines():
    fb = await lint("import os\n\ndef f(x):\n    y = 1\n    return z\n")
    assert not fb.passed
    rules = {(i["rule"], i["line"]) for i in fb.details["issues"]}
    assert {("F401", 1), ("F841", 4), ("F821", 5)} <= rules
    assert "solution.py:5:" in fb.summary and fb.score == 0.7


async def test_clean_code_passes():
    fb = await lint("def f(x):\n    return x + 1\n")
    assert fb.passed and fb.score == 1.0


async def test_rule_selection_is_an_option():
    fb = await lint("import os\n", select=["E9"])
    assert fb.passed
