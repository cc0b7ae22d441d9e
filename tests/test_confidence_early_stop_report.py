"""examples/confidence/early_stop.py on a small scripted sweep: the stop's pass@1, tokens and the offline replay."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from helpers import REPO, load_example, run_cli
from sweep_fixtures import GOOD_DOUBLE, SNEAKY_DOUBLE, TASKS, WRONG_DOUBLE


def early_stop():
    return load_example("examples/confidence/early_stop.py")


def reply(text: str, levels: list[float]) -> dict:
    """A reply whose token confidences (the negative mean of its top-2 log-probabilities) are ``levels``."""
    return {"text": text, "logprobs": [-0.01] * len(levels),
            "top_logprobs": [[-0.01, -(2 * level - 0.01)] for level in levels]}


def cells(text: str) -> dict[str, list[str]]:
    return {line.split(" | ")[0].strip("| "): [c.strip(" |") for c in line.split(" | ")[1:]]
            for line in text.splitlines() if line.startswith("| ") and not line.startswith("|---")}


def test_the_stop_cuts_a_passing_sample_and_the_report_says_what_it_cost(tmp_path):
    # warm-up: a sneaky candidate (passes the visible test, fails the hidden one) at confidence 8.0, the threshold;
    # then the right answer whose confidence dips (cut at token 41 with the stop) and a wrong one, confident.
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text(json.dumps(TASKS[0]) + "\n")
    # the right answer is followed by prose, and the dip is in the prose: the cut keeps the whole code block
    right_then_prose = GOOD_DOUBLE + "\n\nThis doubles x. " + "It is a short explanation. " * 8
    script = [reply(SNEAKY_DOUBLE, [8.0] * 80), reply(right_then_prose, [8.0] * 40 + [2.0] * 40),
              reply(WRONG_DOUBLE, [9.0] * 80)]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"solver": script}))
    base = {"name": "best_of_n", "n": 3, "early_stop": False}
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "plain", "strategy": base},
                         {"name": "deepconf", "strategy": {**base, "confidence_stop": {"warmup": 1, "keep": 0.9}}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

    text = early_stop().report(str(tmp_path / "s.db"), "plain", "deepconf")
    rows = cells(text)
    assert "Problems with both configurations scored (paired): 1 (double); 'deepconf': warm-up 1, keep 0.9" in text
    # without the stop the right answer is submitted; with it, only the sneaky warm-up passes the visible test
    assert rows["pass@1 of the submitted candidate"][:3] == ["1.000 [1.000, 1.000]", "0.000 [0.000, 0.000]",
                                                             "-1.000 [-1.000, -1.000]"]
    # the cut sample is never submitted, so it counts as failing even though its cut code passes
    assert rows["share of samples passing the hidden tests (stopped ones count as failing)"][:2] == [
        "0.333 [0.333, 0.333]", "0.000 [0.000, 0.000]"]
    plain_tokens, stop_tokens, ratio = rows["completion tokens"]
    assert float(stop_tokens.split()[0]) < float(plain_tokens.split()[0])
    assert ratio.startswith("ratio 0.") and not ratio.startswith("ratio 0.000")
    assert "after the warm-up (judged by the threshold): 2; stopped: 1, in 1 of 1 problems" in text
    assert "Stopped at token (window 32): median 41, range 41–41" in text
    assert "cut code already passes the hidden tests (a pass the stop threw away for certain): 1 of 1" in text
    assert "Threshold per problem (from its warm-up): median 8.000" in text
    # replayed on the plain run's finished samples: the same sample is cut, and it was the one that passed
    assert "Of 2 samples after each problem's first 1, the rule would stop 1 (in 1 of 1 problems)" in text
    assert "Passing the hidden tests: 1 of 1 of those it would stop; 0 of 1 of those it would keep" in text
    assert ("pass@1 of the submission picked among the samples it keeps: 0.000 [0.000, 0.000], against "
            "1.000 [1.000, 1.000] among all; paired difference -1.000 [-1.000, -1.000]") in text


def test_a_configuration_missing_from_the_store_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text(json.dumps(TASKS[0]) + "\n")
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"solver": [GOOD_DOUBLE]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "plain", "strategy": {"name": "best_of_n", "n": 1}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    assert run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path).returncode == 0
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "confidence" / "early_stop.py"), "s.db",
                           "--plain", "plain", "--stop", "deepconf"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "s.db: no task has scored runs of both 'plain' and 'deepconf'"
