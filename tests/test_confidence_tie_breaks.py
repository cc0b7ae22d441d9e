"""examples/confidence/tie_breaks.py on a small scripted sweep: every rule scored on the same stored candidates."""

from __future__ import annotations

import json

import yaml
from helpers import load_example, run_cli
from sweep_fixtures import GOOD_DOUBLE, SNEAKY_DOUBLE, TASKS


def tie_breaks():
    return load_example("examples/confidence/tie_breaks.py")


def reply(text: str, sure: bool) -> dict:
    lp, runner_up = (-0.05, -8.0) if sure else (-1.5, -2.0)
    return {"text": text, "logprobs": [lp] * 3, "top_logprobs": [[lp, runner_up] for _ in range(3)]}


def test_rules_are_scored_on_the_same_candidates(tmp_path):
    # both candidates pass the visible test (double(1) == 2); only the sure one passes the hidden one
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text(json.dumps(TASKS[0]) + "\n")
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"solver": [reply(GOOD_DOUBLE, True),
                                                                     reply(SNEAKY_DOUBLE, False)]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "score_candidates": True,
             "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "two", "strategy": {"name": "best_of_n", "n": 2, "early_stop": False}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = tie_breaks().report(str(tmp_path / "s.db"))
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1] for line in text.splitlines() if line.startswith("| ")
            and not line.startswith("| rule") and not line.startswith("|---")}
    assert "disagree on the hidden tests (the only ones where a tie-break can matter): 1" in text
    assert rows["latest"].startswith("0.000") and rows["random"].startswith("0.500")
    assert rows["lowest_group"].startswith("1.000") and rows["mean_logprob"].startswith("1.000")
    assert rows["self_certainty"].startswith("0.000")  # a scripted reply has no full distribution: latest
    assert rows["oracle"].startswith("1.000")
