"""Hostile candidates that attack through output: floods, one huge line, binary and terminal escapes.

What a program printed is untrusted: it must be capped in the sandbox, bounded in what the store
keeps, and escaped where the CLI shows it.
"""

from __future__ import annotations

import json

import pytest
from helpers import run_cli
from hostile_kit import (
    FIZZ_CASES,
    assert_survived,
    hostile_task,
    new_sandbox,
    run_pipeline,
)

from agentloop.sandbox import OUTPUT_LIMIT, python_argv

RUN = [{"kind": "run", "cases": FIZZ_CASES}]
STORED_LIMIT = 64 << 10  # what one hostile turn may leave in the store, all feedback included

FLOOD_200MB = """
import os
chunk = b"x" * (1 << 20)
for _ in range(200):
    os.write(1, chunk)
"""
FLOOD_BOTH_STREAMS = """
import os, threading
chunk = b"e" * (1 << 20)
threading.Thread(target=lambda: [os.write(2, chunk) for _ in range(200)], daemon=True).start()
for _ in range(200):
    os.write(1, chunk)
"""
ONE_50MB_LINE = """
import sys
sys.stdout.write("y" * (50 << 20))
sys.stdout.flush()
"""
# terminal escapes (clear screen, set window title, bell), NULs, every byte value, invalid UTF-8
BINARY_AND_CONTROL = r"""
import os, sys
nasty = b"\x1b[2J\x1b[H\x1b]0;pwned\x07\x00\x00\r\x08\x08" + bytes(range(256)) + b"\xff\xfe\xc3\x28"
os.write(1, nasty * 50)
os.write(2, nasty * 50)
sys.exit(0)
"""


@pytest.mark.parametrize("candidate", [
    pytest.param(FLOOD_200MB, id="200MB-stdout"),
    pytest.param(FLOOD_BOTH_STREAMS, id="200MB-both-streams"),
    pytest.param(ONE_50MB_LINE, id="50MB-single-line"),
])
def test_output_flood_is_capped_and_bounded_in_the_store(layer, tmp_path, candidate):
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, feedback=RUN, memory_mb=512)
    out = run_pipeline(task)
    assert_survived(out, layer=layer, allowed={"output_limit"})
    stored = json.dumps([fb.to_dict() for fb in out.hostile.feedback])
    assert len(stored) < STORED_LIMIT, f"{len(stored)} bytes of feedback stored for one turn"


def test_binary_and_control_output_is_escaped_where_shown(layer, tmp_path):
    task = hostile_task(tmp_path / "task", layer=layer, candidate=BINARY_AND_CONTROL, feedback=RUN)
    out = run_pipeline(task)
    assert_survived(out, layer=layer, allowed={"ok"})
    for shown in (out.stderr, json.dumps(out.result)):
        assert "\x1b" not in shown and "\x07" not in shown and "\x00" not in shown
    run_id, store = out.result["run_id"], str(task.parent / "store.db")
    text = run_cli("show", run_id, "--store", store, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "FAIL" in text.stdout  # the hostile turn is there, shown
    assert not any(c in text.stdout for c in "\x1b\x07\x00\x08\r"), "a raw control character reached the terminal"
    as_json = run_cli("show", run_id, "--store", store, "--json", cwd=tmp_path)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["run_id"] == run_id
    assert "\x1b" not in as_json.stdout  # JSON escapes it as \u001b


async def test_output_limit_through_the_api_then_next_run(layer):
    box = new_sandbox(layer)
    try:
        async with box.workspace({"prog.py": ONE_50MB_LINE}) as ws:
            result = await ws.run(python_argv("prog.py"), timeout_s=3, memory_mb=512)
        assert result.status == "output_limit" and result.duration_s <= 3 + 1
        assert len(result.stdout) <= OUTPUT_LIMIT
        async with box.workspace({"prog.py": BINARY_AND_CONTROL}) as ws:
            binary = await ws.run(python_argv("prog.py"), timeout_s=3, memory_mb=256)
        assert binary.ok and "pwned" in binary.stdout and isinstance(binary.stdout, str)
    finally:
        box.close()
