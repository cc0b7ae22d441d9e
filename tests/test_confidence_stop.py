"""DeepConf's online early stop: warm-up samples set a threshold; later samples whose confidence window
falls below it are cut, recorded as stopped, never checked and never submitted over a finished one."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3

import pytest
from helpers import BAD_FIZZ, GOOD_FIZZ, assert_bad_input, cli_json, run_cli
from hypothesis import given
from hypothesis import strategies as st

import agentloop
from agentloop import Task
from agentloop.core.confidence import WINDOW, first_low_group, stop_threshold
from agentloop.models import Request
from agentloop.models.scripted import ScriptedModel


def steps(level: float) -> tuple[float, list[float]]:
    """One token whose confidence (the negative mean of its top-2 log-probabilities) is ``level``."""
    return -0.01, [-0.01, -(2 * level - 0.01)]


def reply(text: str, levels: list[float]) -> dict:
    made = [steps(level) for level in levels]
    return {"text": text, "logprobs": [lp for lp, _ in made], "top_logprobs": [top for _, top in made]}


def steady(text: str, level: float, tokens: int = 80) -> dict:
    return reply(text, [level] * tokens)


def dipping(text: str) -> dict:
    """40 tokens at 8.0, then 40 at 2.0: against a threshold of 7 its window falls below at token 46."""
    return reply(text, [8.0] * 40 + [2.0] * 40)


def variant(i: int) -> str:
    return GOOD_FIZZ.replace("def fizzbuzz(n):", f"def fizzbuzz(n):\n    # variant {i}")


WARMUP = [steady(BAD_FIZZ, 6.0), steady(BAD_FIZZ, 7.0), steady(BAD_FIZZ, 8.0)]  # median 7.0, 10th percentile 6.2


def run(make_task, tmp_path, replies, *, stop=None, **overrides):
    strategy = {"name": "best_of_n", "n": len(replies), "early_stop": False}
    if stop is not None:
        strategy["confidence_stop"] = stop
    path = make_task({"solver": replies}, strategy=strategy, **overrides)
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db", seed=0)


def stopped(result) -> list[str]:
    return [t.id for t in result.graph.turns() if t.stopped]


def test_the_window_mean_is_checked_from_the_windowth_token_on():
    assert first_low_group([1.0] * (WINDOW - 1), 5.0) is None  # a stretch shorter than a window is never judged
    stop = first_low_group([8.0] * 40 + [2.0] * 40, 7.0)
    assert (stop.token, stop.group, stop.threshold) == (46, 6.875, 7.0)
    assert stop.describe() == "stopped at token 46: group confidence 6.88 < threshold 7.00"
    assert first_low_group([7.0] * 100, 7.0) is None  # equal to the threshold is not below it


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=80), st.integers(min_value=0, max_value=20))
def test_first_low_group_is_the_first_window_below(values, threshold):
    # whole numbers and a threshold halfway between two: the running sum is exact, no window is on the edge
    window, limit = 8, threshold + 0.5
    lows = [k for k in range(window, len(values) + 1) if sum(values[k - window:k]) / window < limit]
    found = first_low_group([float(v) for v in values], limit, window)
    assert (found.token if found else None) == (lows[0] if lows else None)


def test_the_threshold_is_numpys_percentile_of_the_warmup():
    np = pytest.importorskip("numpy")
    values = [6.0, 7.0, 8.0, 3.5, 9.25]
    for keep in (0.1, 0.5, 0.9, 1.0):
        assert math.isclose(stop_threshold(values, keep), float(np.percentile(values, 100 * (1 - keep))), abs_tol=1e-6)
    assert stop_threshold([], 0.5) is None


def test_the_scripted_model_cuts_its_reply_where_the_window_falls_below():
    text = "x" * 800
    model = ScriptedModel([reply(text, [8.0] * 40 + [2.0] * 40), steady(text, 8.0)])
    cut = asyncio.run(model.complete([], Request(role="solver", stop_below=7.0)))
    whole = asyncio.run(model.complete([], Request(role="solver", stop_below=7.0)))
    assert cut.stopped.token == 46 and cut.text == "x" * 460 and cut.confidence.tokens == 46
    assert whole.stopped is None and whole.text == text and whole.confidence.tokens == 80


def test_a_low_confidence_sample_is_cut_and_a_confident_one_never(make_task, tmp_path):
    result = run(make_task, tmp_path, [*WARMUP, dipping(variant(1)), steady(variant(2), 7.5)],
                 stop={"warmup": 3, "keep": 0.5})
    assert stopped(result) == ["t4"]
    t4 = result.graph["t4"]
    [fb] = t4.feedback  # not checked: its one entry says why
    assert fb.kind == "confidence" and not fb.passed
    assert fb.summary == "stopped at token 46: group confidence 6.88 < threshold 7.00"
    assert fb.details == {"token": 46, "group": 6.875, "threshold": 7.0}
    assert result.graph["t5"].passed and result.status == "solved" and "# variant 2" in result.solution
    # warm-up samples run to their end whatever their confidence
    assert all(result.graph[f"t{i}"].confidence.tokens == 80 for i in (1, 2, 3))


def test_the_threshold_comes_from_the_warmup_samples(make_task, tmp_path):
    result = run(make_task, tmp_path, [*WARMUP, steady(variant(1), 6.5)], stop={"warmup": 3, "keep": 0.5})
    assert stopped(result) == ["t4"] and result.graph["t4"].feedback[0].details["threshold"] == 7.0
    # keep 90% of the warm-up: the 10th percentile, 6.2, which 6.5 clears
    result = run(make_task, tmp_path, [*WARMUP, steady(variant(1), 6.5)], stop={"warmup": 3, "keep": 0.9})
    assert stopped(result) == [] and result.status == "solved"


def test_a_stopped_sample_is_never_submitted_over_a_finished_one(make_task, tmp_path):
    # no checks at all: every candidate scores alike, and the stopped one is the latest
    replies = [*WARMUP, steady(variant(1), 7.5), dipping(variant(2))]
    for tie_break in ("latest", "lowest_group", "mean_logprob"):
        path = make_task({"solver": replies}, feedback=[],
                         strategy={"name": "best_of_n", "n": 5, "early_stop": False, "tie_break": tie_break,
                                   "confidence_stop": {"warmup": 3, "keep": 0.5}})
        result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
        assert stopped(result) == ["t5"] and result.graph.best().id != "t5", tie_break
        assert "# variant 2" not in (result.solution or "")


def test_the_stop_spends_fewer_tokens(make_task, tmp_path):
    replies = [*WARMUP, dipping(variant(1)), dipping(variant(2)), steady(BAD_FIZZ, 7.5)]
    plain = run(make_task, tmp_path, replies)
    cut = run(make_task, tmp_path, replies, stop={"warmup": 3, "keep": 0.5})
    assert stopped(plain) == [] and stopped(cut) == ["t4", "t5"]
    assert cut.graph.usage().completion_tokens < plain.graph.usage().completion_tokens
    assert plain.status == "solved"  # unstopped, the dipping samples were good ones: the stop has a price


def test_resume_recomputes_the_threshold_from_the_stored_warmup(make_task, tmp_path):
    replies = [*WARMUP, dipping(variant(1)), steady(variant(2), 7.5)]
    first = run(make_task, tmp_path, replies, stop={"warmup": 3, "keep": 0.5})
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed once the warm-up was committed
        db.execute("DELETE FROM turns WHERE seq > 3")
        db.execute("UPDATE runs SET status = 'running', result_json = NULL")
    again = agentloop.resume(first.run_id, store=tmp_path / "s.db")
    assert stopped(again) == ["t4"] and again.graph["t4"].feedback == first.graph["t4"].feedback
    assert [t.output for t in again.graph.turns()] == [t.output for t in first.graph.turns()]
    assert again.status == "solved" and again.solution == first.solution


def test_a_stopped_turn_is_shown_with_its_reason(make_task, tmp_path):
    path = make_task({"solver": [*WARMUP, dipping(variant(1))]},
                     strategy={"name": "best_of_n", "n": 4, "early_stop": False,
                               "confidence_stop": {"warmup": 3, "keep": 0.5}})
    progress = run_cli("run", str(path), cwd=tmp_path).stderr
    assert "confidence stop: threshold 7.000 from 3 warm-up samples" in progress
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # unsolved: the only good candidate was stopped
    shown = cli_json(run_cli("show", cli_json(proc)["run_id"], "--json", cwd=tmp_path))
    t4 = [t for t in shown["turns"] if t["id"] == "t4"][0]
    assert t4["feedback"][0]["kind"] == "confidence" and "stopped at token 46" in t4["feedback"][0]["summary"]
    assert json.dumps(t4["confidence"]) and t4["confidence"]["tokens"] == 46


@pytest.mark.parametrize("stop, needles", [
    ({"warmup": 0, "keep": 0.5}, ["strategy.confidence_stop.warmup", "greater than or equal to 1"]),
    ({"warmup": 2, "keep": 1.5}, ["strategy.confidence_stop.keep", "less than or equal to 1"]),
    ({"warmup": 2, "keep": 0}, ["strategy.confidence_stop.keep", "greater than 0"]),
    ({"warmup": 2}, ["strategy.confidence_stop.keep", "required key is missing"]),
    ({"warmup": 2, "keep": 0.5, "window": 8}, ["strategy.confidence_stop.window", "unknown key"]),
    ({"warmup": 4, "keep": 0.5}, ["strategy.confidence_stop", "warmup (4) must be less than n (4)"]),
    ("yes", ["strategy.confidence_stop"]),
])
def test_bad_confidence_stop_params_are_bad_input(make_task, tmp_path, stop, needles):
    path = make_task({"solver": [GOOD_FIZZ]}, strategy={"name": "best_of_n", "n": 4, "confidence_stop": stop})
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml", *needles)


def test_the_measurement_sweep_is_a_valid_sweep_file():
    from helpers import REPO

    from agentloop.sweep.spec import load_sweep
    sweep = load_sweep(REPO / "examples" / "confidence" / "early_stop.yaml")
    assert [c.strategy.get("confidence_stop") for c in sweep.configs] == [None, {"warmup": 2, "keep": 0.9}]
