"""The tree stays clean: ruff (the rules pyproject.toml selects) and mypy (its [tool.mypy]) find nothing.

Both run as CI runs them, from the repo root with this environment's own tools, so a violation
fails the suite with the tool's own report.
"""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import REPO

LINTED = ("agentloop", "tools", "tests", "bench", "examples")


def run_tool(*argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m ARGV`` from the repo root with this interpreter (the virtual environment's tools)."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_ruff_finds_nothing_in_the_tree():
    proc = run_tool("ruff", "check", "--no-cache", "--output-format", "concise", *LINTED, timeout=120)
    assert proc.returncode == 0, f"ruff check {' '.join(LINTED)}:\n{proc.stdout[-8000:]}{proc.stderr[-2000:]}"


def test_mypy_finds_nothing_in_the_package():
    # a cold run reads the stubs of everything the package imports (litellm, llama_cpp, ray): minutes on a busy CPU
    proc = run_tool("mypy", timeout=900)
    assert proc.returncode == 0, f"mypy (pyproject.toml [tool.mypy]):\n{proc.stdout[-8000:]}{proc.stderr[-2000:]}"
