"""The older path of ``agentloop.checks.pytest_runner``, kept for user code that imports it."""

from .checks.pytest_runner import TEST_FILE, PytestOutcome, run_pytest

__all__ = ["PytestOutcome", "TEST_FILE", "run_pytest"]
