"""examples/traces/paired.py on a small scripted sweep: refine with and without the trace, paired per task."""

from __future__ import annotations

import json

import yaml
from helpers import load_example, run_cli
from sweep_fixtures import GOOD_DOUBLE, TASKS, WRONG_DOUBLE


def paired():
    return load_example("examples/traces/paired.py")


def test_the_comparison_counts_tasks_with_the_same_failing_first_candidate(tmp_path):
    # double: the same failing first candidate in both; only the traced configuration's refiner fixes it.
    # neg: the first candidate passes every visible check, so it is not among the tasks compared.
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    for name, refined in (("plain", WRONG_DOUBLE), ("traced", GOOD_DOUBLE)):
        for task, first in (("double", WRONG_DOUBLE), ("neg", "```python\ndef neg(x):\n    return -x\n```")):
            (tmp_path / f"{name}-{task}.yaml").write_text(yaml.safe_dump({"solver": [first], "refiner": [refined]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "score_candidates": False,
             "configs": [{"name": "refine", "strategy": {"name": "refine", "max_turns": 2, "critic": False},
                          "models": {"default": "scripted:plain-{task}.yaml"}},
                         {"name": "refine_trace", "strategy": {"name": "refine", "max_turns": 2, "critic": False},
                          "add_feedback": [{"kind": "trace"}], "models": {"default": "scripted:traced-{task}.yaml"}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = paired().report(str(tmp_path / "s.db"))
    assert "Tasks with both runs finished: 2; first candidates identical in both: 2; of those, first candidate " \
           "failing the visible checks: 1." in text
    assert "| refine (no trace) | 0 / 1 |" in text and "| refine + trace | 1 / 1 |" in text
    assert "Paired difference in solved (trace minus no trace): 1.000 [1.000, 1.000]; tasks solved only with the trace: 1" in text
    assert "| double | - | solved | 1 |" in text
    assert "| a refinement passes every visible check: no trace 0, trace 1 of 1 | paired difference 1.000" in text
