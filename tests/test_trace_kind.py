"""The `trace` feedback kind (LDB): a failing call's locals line by line, bounded, escaped, advisory, no leaks."""

from __future__ import annotations

import json
import textwrap

import yaml
from helpers import BAD_FIZZ, FIZZ_HIDDEN, GOOD_FIZZ, HIDDEN_MARKER, assert_bad_input, run_cli

import agentloop
from agentloop import Task
from agentloop.feedback import all_passed, combined_score, run_checks


def task(tests: str, *, trace: dict | None = None, timeout_s: float = 10) -> Task:
    return Task.from_dict({"name": "t", "prompt": "p", "sandbox": {"timeout_s": timeout_s, "scan": False},
                           "feedback": [{"kind": "tests", "code": tests}, {"kind": "trace", **(trace or {})}]})


async def checks(code: str, tests: str, sandbox, **kw):
    return await run_checks(textwrap.dedent(code), task(textwrap.dedent(tests), **kw), sandbox)


SQUARES = """\
def total(xs):
    s = 0
    for x in xs:
        s = s + x * x
    return s
"""


async def test_a_buggy_function_shows_its_variables_after_each_line_in_order(sandbox):
    tests_fb, trace = await checks(SQUARES, "from solution import total\ndef test_sum(): assert total([1, 2, 3]) == 6\n",
                                   sandbox)
    assert not tests_fb.passed and trace.kind == "trace" and trace.advisory and trace.weight == 0.0
    [call] = trace.details["traces"]
    assert call["call"] == "total([1, 2, 3])" and call["source"] == "tests: test_sum"
    changes = [(s["line"], dict(s["vars"])) for s in call["steps"]]
    assert changes == [(2, {"xs": "[1, 2, 3]", "s": "0"}), (3, {"x": "1"}), (4, {"s": "1"}), (3, {"x": "2"}), (4, {"s": "5"}),
                       (3, {"x": "3"}), (4, {"s": "14"}), (3, {}), (5, {})]
    assert call["steps"][-1]["ret"] == "14" and call["outcome"] == {"returned": "14"}
    lines = trace.summary.splitlines()
    assert lines[0].startswith("Trace of total([1, 2, 3]) (from tests: test_sum)")
    assert "total L4: s = s + x * x  | s=5" in trace.summary and lines[-1].strip() == "→ returned 14"


async def test_the_trace_never_counts_so_it_cannot_turn_a_failing_candidate_into_a_passing_one(sandbox):
    feedback = await checks(SQUARES, "from solution import total\ndef test_sum(): assert total([1, 2, 3]) == 6\n",
                            sandbox)
    assert not all_passed(feedback) and combined_score(feedback) == 0.0
    assert not all_passed(feedback[1:])  # a task whose only entry is a trace has no real check: never passed


DEEP_NESTING = """\
import os
try:  # descriptor 3 is the trace runner's channel: the candidate shares its process, so it can write there
    os.write(3, b"[" * 5000 + b"\\n")
except OSError:  # in the tests check's solution process the channel is closed
    pass

def total(xs):
    return 0
"""


async def test_a_candidate_writing_deeply_nested_json_to_the_channel_is_only_a_failing_candidate(sandbox):
    tests_fb, trace = await checks(DEEP_NESTING, "from solution import total\ndef test_sum(): assert total([1]) == 1\n",
                                   sandbox, trace={"calls": ["total([1])"]})
    assert not tests_fb.passed and trace.kind == "trace" and trace.advisory  # a verdict, not a RecursionError
    assert "total([1])" in trace.summary  # the candidate's line was dropped, the runner's own messages kept


async def test_a_passing_candidate_is_not_traced(sandbox):
    _, trace = await checks(SQUARES, "from solution import total\ndef test_sum(): assert total([1, 2]) == 5\n", sandbox)
    assert trace.summary == "Nothing traced: no check failed." and "traces" not in trace.details


async def test_a_million_iterations_stay_within_the_bounds(sandbox):
    spin = "def spin(n):\n    acc = 0\n    for i in range(n):\n        acc += i\n    return -1\n"
    _, trace = await checks(spin, "from solution import spin\ndef test_spin(): assert spin(1_000_000) == 0\n", sandbox)
    [call] = trace.details["traces"]
    assert len(call["steps"]) == 24 + 8 and call["stopped_after"] == 20_000 and call["omitted"] == 20_000 - 32
    assert call["outcome"] == {"returned": "-1"}  # the call ran on, untraced, to its end
    assert "… 19968 steps not shown …" in trace.summary and len(trace.summary) <= 1800
    assert [s["n"] for s in call["steps"][-8:]] == list(range(19_993, 20_001))  # the tail is the last steps


HOSTILE = """\
class Huge:
    def __repr__(self):
        return "x" * 10_000_000
class Raises:
    def __repr__(self):
        raise ValueError("no repr for you")
class Slow:
    def __repr__(self):
        while True:
            pass
class Escapes:
    def __repr__(self):
        return "\\x1b[2J\\x1b]0;pwned\\x07<b>markup</b>\\u202egnp.exe"
def f(n):
    big = Huge()
    bad = Raises()
    slow = Slow()
    esc = Escapes()
    text = "\\x1b[31mred\\x1b[0m" * 1000
    return n
"""


async def test_hostile_reprs_are_cut_contained_and_escaped(sandbox):
    _, trace = await checks(HOSTILE, "from solution import f\ndef test_f(): assert f(1) == 2\n", sandbox)
    [call] = trace.details["traces"]
    shown = {name: value for step in call["steps"] for name, value in step["vars"]}
    assert shown["big"] == "x" * 60 + "…"
    assert shown["bad"] == "<Raises: __repr__ raised ValueError>"
    assert shown["slow"] == "<Slow: __repr__ took longer than 0.1 s>"
    assert shown["esc"].startswith("\\x1b[2J\\x1b]0;pwned\\x07<b>markup</b>\\u202egnp")
    assert shown["text"].startswith("'\\x1b[31mred\\x1b[0m") and len(shown["text"]) <= 61
    everything = trace.summary + json.dumps(trace.details, ensure_ascii=False)
    assert not any(ord(c) < 32 and c != "\n" or c in "\x7f\u202e" for c in everything)
    assert len(json.dumps(trace.details)) < 20_000 and call["outcome"] == {"returned": "1"}


async def test_calls_from_the_config_and_a_crash_are_traced(sandbox):
    code = "def f(n):\n    d = 10 - n\n    return 100 // d\n"
    _, trace = await checks(code, "from solution import f\ndef test_f(): assert f(1) == 12\n", sandbox,
                            trace={"calls": ["f(10)"], "max_calls": 2, "from_tests": False})
    [call] = trace.details["traces"]
    assert call["call"] == "f(10)" and call["source"] == "calls"
    assert call["outcome"] == {"raised": "ZeroDivisionError: integer division or modulo by zero"}
    assert [s.get("exc") for s in call["steps"]][-1] == "ZeroDivisionError"


async def test_comprehension_iterators_and_object_addresses_are_left_out(sandbox):
    code = "class P:\n    pass\ndef f(xs):\n    p = P()\n    return [x + 1 for x in xs]\n"
    _, trace = await checks(code, "from solution import f\ndef test_f(): assert f([1]) == [1]\n", sandbox)
    shown = {name: value for step in trace.details["traces"][0]["steps"] for name, value in step["vars"]}
    assert shown["p"] == "<solution.P object>" and ".0" not in shown and shown["x"] == "1"


LEAKER = """\
import gc, glob, os, sys
# the search runs in code compiled outside solution.py, so the tracer never shows the needle itself
find = eval(compile("lambda texts, needle: [t for t in texts if needle in t]", "<probe>", "eval"))
def fizzbuzz(n):
    texts = []
    frame = sys._getframe().f_back
    while frame is not None:  # up through the tracer and the runner
        texts += map(repr, [frame.f_locals, frame.f_globals])
        frame = frame.f_back
    texts += map(repr, gc.get_objects()[:200_000])
    texts += map(repr, [m.__dict__ for m in list(sys.modules.values())])
    paths = glob.glob("*") + glob.glob("../*") + glob.glob("/tmp/**/*.yaml", recursive=True) \\
        + glob.glob("/tmp/**/*.db", recursive=True) + glob.glob(os.path.expanduser("~/*"))
    for path in paths + [f"/proc/{os.getppid()}/cmdline", f"/proc/{os.getppid()}/environ"]:
        try:
            with open(path, errors="replace") as f:
                texts.append(f.read(1_000_000))
        except OSError:
            pass
    own_spec = open("agentloop_trace.json").read()[:10]  # the probe can read its own folder
    needle = "".join(["SENT", "INEL_77"])  # made after every text above was collected (no constant to find)
    hits = find(texts, needle)
    leak = hits[0][hits[0].index(needle) - 12:][:50] if hits else None
    return "Fizz" if n % 3 == 0 else str(n)
"""


def test_a_hostile_candidate_cannot_read_the_hidden_tests_through_the_trace(make_task, tmp_path):
    path = make_task({"solver": [f"```python\n{LEAKER}```"], "critic": ["c"], "refiner": [GOOD_FIZZ]},
                     hidden_tests=FIZZ_HIDDEN,
                     feedback=[{"kind": "tests", "code": "from solution import fizzbuzz\n"
                                                         "def test_five(): assert fizzbuzz(5) == 'Buzz'\n"},
                               {"kind": "trace", "max_vars": 16}])
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "store.db")
    first = result.graph.turns()[0]
    trace = next(f for f in first.feedback if f.kind == "trace")
    shown = {name: value for step in trace.details["traces"][0]["steps"] for name, value in step["vars"]}
    assert shown["own_spec"] == "'{\"calls\": '" and shown["leak"] == "None", trace.summary
    assert result.hidden_tests["passed"] is True  # the hidden tests did run, after the loop
    for turn in result.graph.turns():
        assert HIDDEN_MARKER not in json.dumps(turn.to_dict())


def test_the_trace_reaches_the_critic_and_the_refiner_in_a_refine_run(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]},
                     feedback=[{"kind": "compile"},
                               {"kind": "tests", "code": "from solution import fizzbuzz\n"
                                                         "def test_ten(): assert fizzbuzz(10) == 'Buzz'\n"},
                               {"kind": "trace"}])
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "store.db")
    solver, critic, refiner = result.graph.turns()
    assert result.status == "solved" and refiner.passed and not solver.passed
    for turn in (critic, refiner):
        prompt = "\n".join(m["content"] for m in turn.messages)
        assert "[trace: for information, not a check] Trace of fizzbuzz(10) (from tests: test_ten)" in prompt
        assert "fizzbuzz L4: return str(n) returns '10'" in prompt and "→ returned '10'" in prompt
    assert [f.kind for f in refiner.feedback] == ["compile", "tests", "trace"]
    assert refiner.feedback[2].summary == "Nothing traced: no check failed."


def test_bad_trace_options_are_one_line_errors_naming_the_field(tmp_path):
    base = {"name": "t", "prompt": "p", "models": {"default": "llamacpp:model.gguf"}}
    for options, needles in (({"max_calls": 0}, ["feedback[0].max_calls"]),
                             ({"cals": ["f(1)"]}, ["feedback[0].cals", "unknown key"]),
                             ({"calls": ["f(1"]}, ["feedback[0].calls", "not a Python expression"])):
        (tmp_path / "task.yaml").write_text(yaml.safe_dump({**base, "feedback": [{"kind": "trace", **options}]}))
        assert_bad_input(run_cli("run", "task.yaml", cwd=tmp_path), "task.yaml", *needles)
    sweep = {"suite": "tasks", "configs": [{"name": "a", "strategy": "refine",
                                            "add_feedback": [{"kind": "trace", "head_steps": -1}]}]}
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "task.yaml").write_text(yaml.safe_dump({**base, "name": "x"}))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", cwd=tmp_path)
    assert_bad_input(proc, "sweep.yaml", "configs[0].add_feedback[0].head_steps")
    assert not (tmp_path / "out").exists()


def test_a_sweep_configuration_adds_feedback_entries_to_every_task(tmp_path):
    from agentloop.sweep.driver import plan
    from agentloop.sweep.spec import load_sweep
    (tmp_path / "tasks").mkdir()
    for name in ("a", "b"):
        (tmp_path / "tasks" / f"{name}.yaml").write_text(yaml.safe_dump(
            {"name": name, "prompt": "p", "hidden_tests": "def test_h(): pass\n",
             "feedback": [{"kind": "tests", "code": "def test_x(): pass\n"}]}))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"suite": "tasks", "configs": [
        {"name": "plain", "strategy": "refine"},
        {"name": "traced", "strategy": "refine", "add_feedback": [{"kind": "trace", "head_steps": 5}]}]}))
    jobs, _ = plan(load_sweep(tmp_path / "sweep.yaml"))
    kinds = {(j.task_name, j.config): [(f.kind, f.options) for f in j.task().feedback] for j in jobs}
    assert kinds[("a", "plain")] == [("tests", {"code": "def test_x(): pass\n"})]
    assert kinds[("b", "traced")] == [("tests", {"code": "def test_x(): pass\n"}), ("trace", {"head_steps": 5})]
    assert len({j.key for j in jobs}) == 4  # the added entry is part of what identifies a run
