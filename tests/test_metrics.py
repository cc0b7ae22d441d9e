"""Run metrics: feedback incorporation per refinement, cost per pass; shown by `agentloop show`."""

from __future__ import annotations

from helpers import BAD_FIZZ, GOOD_FIZZ, cli_json, run_cli

import agentloop
from agentloop import Task
from agentloop.views.metrics import changed_lines, run_metrics

BROKEN = "```python\ndef fizzbuzz(n):\n    if n % 15 == 0\n        return 'FizzBuzz'\n    return str(n)\n```"
FIXED_THERE = "```python\ndef fizzbuzz(n):\n    if n % 15 == 0:\n        return 'FizzBuzz'\n    return str(n)\n```"
EDITED_ELSEWHERE = "```python\n# a comment\ndef fizzbuzz(n):\n    if n % 15 == 0\n        return 'FizzBuzz'\n    return str(n)\n```"


def test_changed_lines():
    assert changed_lines("a\nb\nc\n", "a\nB\nc\n") == {2}
    assert changed_lines("a\nb\n", "a\nb\n") == set()


def run(make_task, tmp_path, refined):
    path = make_task({"solver": [BROKEN], "critic": ["line 2 lacks a colon"], "refiner": [refined]},
                     strategy={"name": "refine", "max_turns": 2})
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


def test_a_fix_on_the_named_line_counts_as_incorporated(make_task, tmp_path):
    m = run_metrics(run(make_task, tmp_path, FIXED_THERE).graph)
    [r] = m["refinements"]
    assert r["named_lines"] == [2] and r["touched_named_lines"] is True and r["fixed"] == ["compile"]
    assert m["touched_named_lines_rate"] == 1.0


def test_an_edit_elsewhere_does_not(make_task, tmp_path):
    m = run_metrics(run(make_task, tmp_path, EDITED_ELSEWHERE).graph)
    [r] = m["refinements"]
    assert r["touched_named_lines"] is False and r["fixed"] == [] and not r["verdict_flipped"]
    assert m["passing_candidates"] == 0 and m["candidates_per_pass"] is None


def test_cost_per_pass_and_show_prints_the_metrics(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]})
    out = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))
    shown = cli_json(run_cli("show", out["run_id"], "--json", cwd=tmp_path))["metrics"]
    total = out["tokens"]["prompt"] + out["tokens"]["completion"]
    assert shown["candidates"] == 2 and shown["candidates_per_pass"] == 2.0 and shown["tokens_per_pass"] == total
    assert shown["refinements"][0]["verdict_flipped"] is True and shown["refinements"][0]["fixed"] == ["tests"]
    text = run_cli("show", out["run_id"], cwd=tmp_path).stdout
    assert "metrics: 2 candidates, 1 passing" in text and "t3 from t1: fixed ['tests']" in text
