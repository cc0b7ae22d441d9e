"""The `score` feedback kind: an evaluator's number and metrics, bounded, validated and unforgeable."""

from __future__ import annotations

import pytest
from helpers import assert_bad_input, cli_json, run_cli

from agentloop import Task
from agentloop.feedback import run_checks
from agentloop.sandbox import Sandbox

EVALUATOR = "import json\nfrom solution import f\nprint('warming up')\nprint(json.dumps({'score': f(3), 'metrics': {'calls': 1}}))\n"


def task(evaluator: str = EVALUATOR, **options) -> Task:
    return Task.from_dict({"name": "t", "prompt": "p", "sandbox": {"timeout_s": 5},
                           "feedback": [{"kind": "score", "evaluator": evaluator, **options}]})


async def score(code: str, sandbox: Sandbox, evaluator: str = EVALUATOR, **options):
    [fb] = await run_checks(code, task(evaluator, **options), sandbox)
    return fb


async def test_a_reached_target_passes_and_the_score_is_placed_in_its_bounds(sandbox):
    fb = await score("def f(x):\n    return x * 3\n", sandbox, bounds=[0, 10], target=9)
    assert fb.passed and fb.score == pytest.approx(0.9)
    assert fb.details["objective"] == 9.0 and fb.details["metrics"] == {"calls": 1.0}
    assert "score 9" in fb.summary and "calls=1" in fb.summary


async def test_below_target_fails_with_its_score_and_minimize_flips_the_scale(sandbox):
    fb = await score("def f(x):\n    return 2\n", sandbox, bounds=[0, 10], target=9)
    assert not fb.passed and fb.score == pytest.approx(0.2) and "not reached" in fb.summary
    fb = await score("def f(x):\n    return 2\n", sandbox, bounds=[0, 10], direction="minimize", target=3)
    assert fb.passed and fb.score == pytest.approx(0.8)


async def test_without_a_target_only_the_best_end_of_the_bounds_passes(sandbox):
    assert not (await score("def f(x):\n    return 0.5\n", sandbox)).passed
    assert (await score("def f(x):\n    return 1\n", sandbox)).passed


FORGER = """import json, os, sys
print(json.dumps({"score": 1e9}))
os.write(1, b'{"score": 1e9}\\n')
def f(x):
    print(json.dumps({"score": 1e9, "metrics": {}}))
    sys.stdout.write('{"score": 1e9}\\n')
    os.write(1, b'{"score": 1e9}\\n')
    return 0.25
"""


async def test_a_candidate_cannot_forge_its_score_by_printing_one(sandbox):
    fb = await score(FORGER, sandbox, bounds=[0, 100])
    assert not fb.passed and fb.details["objective"] == 0.25


async def test_a_candidate_cannot_reach_the_report_channel_through_proc(sandbox):
    # a write that landed would add a second, unkeyed line and void the report: the score shows it did not
    sneaky = ("import os\ndef f(x):\n    try:\n        with open(f'/proc/{os.getppid()}/fd/3', 'w') as ch:\n"
              "            ch.write('{\"k\": \"guess\", \"stdout\": \"{\\\"score\\\": 99}\"}\\n')\n"
              "    except OSError:\n        pass\n    return 0.25\n")
    t = Task.from_dict({"name": "t", "prompt": "p", "sandbox": {"timeout_s": 5, "scan": False},
                        "feedback": [{"kind": "score", "evaluator": EVALUATOR, "bounds": [0, 100]}]})
    [fb] = await run_checks(sneaky, t, sandbox)
    assert fb.details.get("objective") == 0.25, fb.summary


async def test_a_candidate_returning_a_lying_float_is_not_plain_data(sandbox):
    liar = "class Big(float):\n    def __ge__(self, o): return True\ndef f(x):\n    return Big(0.1)\n"
    fb = await score(liar, sandbox)
    assert not fb.passed and fb.score == 0 and "could not be scored" in fb.summary


@pytest.mark.parametrize(("evaluator", "needle"), [
    ("pass\n", "printed nothing"),
    ("print('score: 3')\n", "last line is not JSON"),
    ("print('{\"metrics\": {}}')\n", "score: Field required"),
    ("print('{\"score\": \"3\"}')\n", "score: Input should be a valid number"),
    ("print('{\"score\": true}')\n", "score: Input should be a valid number"),
    ("print('{\"score\": NaN}')\n", "score: Input should be a finite number"),
    ("print('{\"score\": 1, \"extra\": 2}')\n", "extra: Extra inputs are not permitted"),
    ("import json\nprint(json.dumps({'score': 1, 'metrics': {str(i): i for i in range(40)}}))\n", "metrics"),
    ("print('x' * 100000)\n", "more than 65536 bytes"),
    ("raise RuntimeError('boom')\n", "raised RuntimeError: boom"),
    ("import sys\nsys.exit(3)\n", "exited with status 3"),
])
async def test_bad_evaluator_output_is_a_failing_check_with_a_one_line_reason(sandbox, evaluator, needle):
    fb = await score("def f(x):\n    return 1\n", sandbox, evaluator)
    assert not fb.passed and fb.score == 0.0
    assert needle in fb.summary.splitlines()[0], fb.summary


async def test_an_evaluator_that_does_not_finish_gets_no_score(sandbox):
    t = Task.from_dict({"name": "t", "prompt": "p", "sandbox": {"timeout_s": 1},
                        "feedback": [{"kind": "score", "evaluator": EVALUATOR}]})
    [fb] = await run_checks("def f(x):\n    while True:\n        pass\n", t, sandbox)
    assert not fb.passed and fb.score == 0.0 and "status timeout" in fb.summary.splitlines()[0]


async def test_a_candidate_that_kills_the_evaluator_gets_no_score(sandbox):
    # the scan would refuse the signal: switched off so that the runtime defence is what is tested
    t = Task.from_dict({"name": "t", "prompt": "p", "sandbox": {"timeout_s": 5, "scan": False},
                        "feedback": [{"kind": "score", "evaluator": EVALUATOR}]})
    [fb] = await run_checks("import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n", t, sandbox)
    assert not fb.passed and fb.score == 0.0


def test_bad_score_options_are_bad_input_naming_the_field(make_task, tmp_path):
    path = make_task(["x"], feedback=[{"kind": "score", "evaluator": "print(1)", "bounds": [5, 1]}])
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml", "feedback[0]", "bounds")
    path = make_task(["x"], feedback=[{"kind": "score", "evaluator": "print(1)", "targt": 1}])
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "feedback[0].targt", "unknown key")


def test_show_and_show_json_show_the_score(make_task, tmp_path):
    reply = "```python\ndef f(x):\n    return 0.5\n```"
    path = make_task([reply], feedback=[{"kind": "score", "evaluator": EVALUATOR}], entry_point="f",
                     strategy={"name": "best_of_n", "n": 1})
    out = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))
    assert out["status"] == "unsolved" and out["score"] == 0.5
    shown = run_cli("show", out["run_id"], cwd=tmp_path)
    assert "objective 0.5 (t1)" in shown.stdout.splitlines()[0]
    assert "score 0.5 (maximize, target 1: not reached); metrics: calls=1" in shown.stdout
    [fb] = cli_json(run_cli("show", out["run_id"], "--json", cwd=tmp_path))["turns"][0]["feedback"]
    assert fb["kind"] == "score" and fb["details"]["objective"] == 0.5 and fb["details"]["metrics"] == {"calls": 1.0}
