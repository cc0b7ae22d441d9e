"""A sandbox worker (the zygote) killed mid-check ends the run as ``error`` with one line; ``resume`` finishes it.

``kill -9`` of the zygote is what the kernel's OOM killer does to it. The run must not be left
``running``: the CLI exits 3 with one line naming the worker and how it died, the run is stored
with status ``error``, and ``agentloop resume`` continues it with a fresh worker.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import yaml
from helpers import cli_json, run_cli
from procs import CliFactory, alive, descendants, describe, zygote_of

# the check's test sleeps, so the worker can be killed while the check is in flight
SLOW_OK = "```python\nimport time\n\ndef double(x):\n    time.sleep(1.5)\n    return 2 * x\n```"
TESTS = textwrap.dedent("""\
    from solution import double
    def test_double(): assert double(21) == 42
    """)


def test_killed_worker_ends_run_as_error_then_resume_finishes(tmp_path: Path, clis: CliFactory):
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"solver": [SLOW_OK]}))
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({
        "name": "double", "prompt": "Write double(x).", "entry_point": "double",
        "feedback": [{"kind": "tests", "code": TESTS}], "strategy": {"name": "refine", "max_turns": 1},
        "models": {"default": "scripted:script.yaml"}}))
    cli = clis("run", "task.yaml", "--json", cwd=tmp_path)
    # the check is in flight when the worker has a child (the execution) of its own
    assert cli.wait_for(lambda: (z := zygote_of(cli.pid)) is not None and descendants(z), timeout=120), cli.lines()
    worker = zygote_of(cli.pid)
    executions = descendants(worker)
    os.kill(worker, signal.SIGKILL)
    code, out, err = cli.finish()
    assert code == 3, err
    assert [line for line in err.splitlines() if line.startswith("agentloop:")] == [
        f"agentloop: the sandbox worker (pid {worker}) was killed by signal 9 during a check (killed, or out of "
        f"memory?); continue with `agentloop resume {cli_json_text(out)['run_id']}`"]
    result = cli_json_text(out)
    assert result["status"] == "error" and "sandbox worker" in result["error"]
    shown = cli_json(run_cli("show", result["run_id"], "--json", cwd=tmp_path))
    assert shown["status"] == "error"
    assert not [describe(p) for p in executions if alive(p)]  # the execution died with its worker
    resumed = run_cli("resume", result["run_id"], "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert cli_json(resumed)["status"] == "solved"


def cli_json_text(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])
