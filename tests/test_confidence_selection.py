"""``tie_break``: among candidates the visible checks rank equal, the model's most confident one is submitted."""

from __future__ import annotations

import pytest
from helpers import BAD_FIZZ, GOOD_FIZZ, cli_json, run_cli


def reply(text: str, logprob: float) -> dict:
    """A reply whose tokens had ``logprob``; the surer the token, the less likely its runner-up."""
    runner_up = {-0.01: -9.0, -0.05: -8.0, -0.1: -8.0, -0.5: -4.0, -1.0: -3.0, -1.5: -2.0, -2.0: -1.0}[logprob]
    return {"text": text, "logprobs": [logprob, logprob], "top_logprobs": [[logprob, runner_up], [logprob, runner_up]]}


def variant(i: int) -> str:
    return GOOD_FIZZ.replace("def fizzbuzz(n):", f"def fizzbuzz(n):\n    # variant {i}")


def submitted(make_task, tmp_path, replies, **strategy) -> str:
    path = make_task({"solver": replies}, strategy={"name": "best_of_n", "n": len(replies), "early_stop": False,
                                                    **strategy})
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    return cli_json(proc)["solution"]


@pytest.mark.parametrize("measure", ["mean_logprob", "lowest_group"])
def test_the_most_confident_of_equally_good_candidates_is_submitted(make_task, tmp_path, measure):
    replies = [reply(variant(0), -2.0), reply(variant(1), -0.1), reply(variant(2), -1.0)]
    assert "# variant 1" in submitted(make_task, tmp_path, replies, tie_break=measure)
    assert "# variant 2" in submitted(make_task, tmp_path, replies)  # latest: the graph's own rule


def test_confidence_never_overrides_a_failing_visible_check(make_task, tmp_path):
    replies = [reply(BAD_FIZZ, -0.01), reply(variant(1), -1.0), reply(variant(2), -2.0)]
    assert "# variant 1" in submitted(make_task, tmp_path, replies, tie_break="lowest_group")


def test_with_no_checks_confidence_alone_selects(make_task, tmp_path):
    replies = [reply(variant(0), -0.5), reply(BAD_FIZZ, -0.05), reply(variant(2), -1.5)]
    path = make_task({"solver": replies}, feedback=[],
                     strategy={"name": "best_of_n", "n": 3, "early_stop": False, "tie_break": "mean_logprob"})
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert "return str(n)" in cli_json(proc)["solution"] and "# variant" not in cli_json(proc)["solution"]


def test_candidates_without_confidence_keep_the_latest(make_task, tmp_path):
    assert "# variant 2" in submitted(make_task, tmp_path, [variant(0), variant(1), variant(2)], tie_break="self_certainty")
