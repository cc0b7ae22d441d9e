"""Constants and helpers shared by the tests (importable as ``helpers``: tests/ is on pythonpath)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


def load_example(relative: str):
    """A script of the repository (``examples/...py``) imported as a module, as a test exercises its functions."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def assert_bad_input(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2 with exactly one stderr line holding every needle, and no traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
