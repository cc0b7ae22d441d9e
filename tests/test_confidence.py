"""Token confidence: the measures themselves, and a scripted model that carries log-probabilities through a run."""

from __future__ import annotations

import math

from helpers import BAD_FIZZ, GOOD_FIZZ, assert_bad_input, cli_json, run_cli
from hypothesis import given
from hypothesis import strategies as st

from agentloop.core.confidence import Confidence, from_top_logprobs, lowest_group, token_confidence

finite = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=120), st.integers(min_value=1, max_value=40))
def test_lowest_group_is_the_lowest_window_mean(values, window):
    # brute force: every window of `window` consecutive values (all of them when there are fewer)
    groups = [values[i:i + window] for i in range(len(values) - window + 1)] or [values]
    expected = min(sum(g) / len(g) for g in groups)
    assert math.isclose(lowest_group(values, window), expected, rel_tol=1e-6, abs_tol=1e-5)


def test_one_confused_stretch_pulls_the_lowest_group_down_while_the_mean_hardly_moves():
    fluent, confused = [10.0] * 200, [10.0] * 100 + [1.0] * 32 + [10.0] * 68
    assert lowest_group(fluent, 32) == 10.0 and lowest_group(confused, 32) == 1.0
    assert sum(confused) / len(confused) > 8.5


def test_token_confidence_is_high_for_a_peaked_distribution():
    peaked = [math.log(0.97)] + [math.log(0.01)] * 3
    flat = [math.log(0.25)] * 4
    assert token_confidence(peaked) > token_confidence(flat) > 0


def test_measures_from_an_api_style_top_k():
    c = from_top_logprobs([(-0.1, [-0.1, -3.0]), (-2.0, [-0.5, -2.0])], window=2)
    assert c.tokens == 2 and math.isclose(c.mean_logprob, -1.05)
    assert math.isclose(c.lowest_group, (1.55 + 1.25) / 2) and c.self_certainty is None and c.top_k == 2
    assert Confidence.from_dict(c.to_dict()) == c


def test_a_scripted_reply_carries_its_confidence_into_show(make_task, tmp_path):
    sure = {"text": GOOD_FIZZ, "logprobs": [-0.01, -0.02, -0.03], "top_logprobs": [[-0.01, -5.0] for _ in range(3)]}
    path = make_task({"solver": [{"text": BAD_FIZZ, "logprobs": [-1.5, -2.5]}], "critic": ["check 15"],
                      "refiner": [sure]})
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run_id = cli_json(proc)["run_id"]
    shown = cli_json(run_cli("show", run_id, "--json", cwd=tmp_path))
    by_role = {t["role"]: t["confidence"] for t in shown["turns"]}
    assert by_role["critic"] is None  # a plain string reply reports nothing
    assert by_role["solver"]["mean_logprob"] == -2.0 and by_role["solver"]["lowest_group"] is None
    assert math.isclose(by_role["refiner"]["mean_logprob"], -0.02) and by_role["refiner"]["lowest_group"] > 2
    text = run_cli("show", run_id, cwd=tmp_path).stdout
    assert "confidence: mean logprob -2.000, lowest group n/a" in text


def test_bad_scripted_logprobs_are_bad_input(make_task, tmp_path):
    for reply, needle in [({"text": "x", "logprobs": [0.5]}, "logprobs must be"),
                          ({"text": "x", "logprobs": [-1.0], "top_logprobs": [[-1.0], [-2.0]]}, "top_logprobs must"),
                          ({"text": "x", "confidence": 1}, "unknown key 'confidence'"),
                          ({"logprobs": [-1.0]}, "replies must be a list of strings")]:
        path = make_task({"solver": [reply]})
        assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "script.yaml", needle)


def test_a_litellm_uri_asks_for_at_most_20_logprobs():
    import pytest

    from agentloop.errors import ModelURIError
    from agentloop.models import ModelPool
    with pytest.raises(ModelURIError, match="logprobs must be between 1 and 20"):
        ModelPool().get("litellm:openai/x?api_base=http://127.0.0.1:9/v1&logprobs=21")
