"""Shared fixtures: task folders written on the fly, and the CLI run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parent.parent

GOOD_FIZZ = """```python
def fizzbuzz(n):
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
```"""
BAD_FIZZ = """```python
def fizzbuzz(n):
    if n % 3 == 0:
        return "Fizz"
    return str(n)
```"""
FIZZ_TESTS = textwrap.dedent("""\
    from solution import fizzbuzz
    def test_three(): assert fizzbuzz(3) == "Fizz"
    def test_five(): assert fizzbuzz(5) == "Buzz"
    """)
HIDDEN_MARKER = "HIDDEN_SENTINEL_7731"
FIZZ_HIDDEN = f"from solution import fizzbuzz\ndef test_{HIDDEN_MARKER}(): assert fizzbuzz(15) == 'FizzBuzz'\n"


@pytest.fixture
def make_task(tmp_path: Path):
    """Write task.yaml (and script.yaml when ``script`` is given) into a fresh folder; return the task path."""
    counter = {"n": 0}

    def make(script: list | dict | None = None, **overrides) -> Path:
        counter["n"] += 1
        folder = tmp_path / f"task{counter['n']}"
        folder.mkdir()
        data = {
            "name": "fizzbuzz",
            "prompt": "Write fizzbuzz(n) returning Fizz, Buzz, FizzBuzz or str(n).",
            "entry_point": "fizzbuzz",
            "feedback": [{"kind": "compile"}, {"kind": "tests", "code": FIZZ_TESTS}],
            "strategy": {"name": "refine", "max_turns": 3},
            "models": {"default": "scripted:script.yaml"},
        }
        data.update(overrides)
        if script is not None:
            (folder / "script.yaml").write_text(yaml.safe_dump(script, sort_keys=False))
        (folder / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return folder / "task.yaml"

    return make


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``agentloop ARGS`` in a subprocess, exactly as a user types it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AGENTLOOP_STORE", None)
    return subprocess.run([sys.executable, "-m", "agentloop.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def cli_json(proc: subprocess.CompletedProcess) -> dict:
    """The single JSON object a ``--json`` command printed on stdout."""
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])
