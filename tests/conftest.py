"""Shared fixtures: task folders written on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import FIZZ_TESTS
from procs import CliFactory

# litellm otherwise stalls on a price-table download at import
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
async def sandbox():
    """A real sandbox for checks run directly (``run_checks``), closed afterwards."""
    from agentloop.sandbox import Sandbox
    box = Sandbox()
    yield box
    box.close()


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


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (e.g. the 100-trial kill -9 test)")


def pytest_collection_modifyitems(config, items):
    # not an addopts `-m "not slow"`: any other -m on the command line would replace it and pull them in
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def clis():
    """``agentloop`` CLI processes started by a test, each killed with its whole tree afterwards."""
    factory = CliFactory()
    yield factory
    factory.cleanup()
