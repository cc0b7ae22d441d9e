"""The solution boundary keeps honest tests working: what crosses, and how it reads on the test side."""

from __future__ import annotations

import asyncio
import math
import textwrap

import pytest

from agentloop.checks.pytest_runner import TEST_FILE, run_pytest
from agentloop.feedback import Feedback
from agentloop.sandbox import Sandbox
from agentloop.sandbox.plain import NotPlain, decode, encode

SOLUTION = textwrap.dedent("""\
    LIMIT = 10
    TABLE = {(1, 2): [b"x", 1.5, None], "s": {1, 2}, "f": frozenset({3})}

    class TooBig(ValueError):
        pass

    class Box:
        def __init__(self, v): self.v = v

    def sort_in_place(xs):
        xs.sort()

    def fill(d):
        d["new"] = [1]

    def check(n):
        if n > LIMIT:
            raise TooBig(f"{n} is too big")
        return n

    def shout(text):
        print(text.upper())
        return len(text)

    def gen(n):
        yield from range(n)

    def box(v):
        return Box(v)

    def exit_now():
        import os
        os._exit(3)
    """)


def run(tests: str, solution: str = SOLUTION, **options) -> Feedback:
    async def go() -> Feedback:
        sandbox = Sandbox()
        try:
            async with sandbox.workspace({"solution.py": solution, TEST_FILE: textwrap.dedent(tests)}) as ws:
                return await run_pytest(ws, kind="tests", timeout_s=20, memory_mb=512, **options)
        finally:
            sandbox.close()
    return asyncio.run(go())


def test_honest_uses_cross_the_boundary():
    fb = run("""\
        import pytest
        from solution import LIMIT, TABLE, TooBig, sort_in_place, fill, check, shout
        def test_constants(): assert LIMIT == 10 and TABLE[(1, 2)] == [b"x", 1.5, None] and TABLE["s"] == {1, 2}
        def test_in_place():
            xs, d = [3, 1, 2], {"a": 1}
            sort_in_place(xs); fill(d)
            assert xs == [1, 2, 3] and d == {"a": 1, "new": [1]}
        def test_own_exception():
            with pytest.raises(TooBig, match="11 is too big"):
                check(11)
            with pytest.raises(ValueError):
                check(12)
        def test_printed(capsys):
            assert shout("hi") == 2
            assert capsys.readouterr().out == "HI\\n"
        """)
    assert fb.passed, fb.summary


def test_what_is_not_plain_fails_with_a_message_naming_it():
    fb = run("""\
        from solution import gen, box, exit_now
        def test_generator(): assert list(gen(3)) == [0, 1, 2]
        def test_object(): assert box(1).v == 1
        def test_exit(): exit_now()
        """)
    assert not fb.passed and fb.details["failed"] == 3
    messages = {f["test"]: f["message"] for f in fb.details["failures"]}
    assert "the result is a generator, not plain data" in messages["test_generator"]
    assert "the result is a Box, not plain data" in messages["test_object"]
    assert "the solution's process exited with status 3" in messages["test_exit"]


def test_a_class_import_names_the_opt_out_and_objects_mode_allows_it():
    tests = "from solution import Box\ndef test_box(): assert Box(2).v == 2\n"
    plain = run(tests)
    assert not plain.passed and "sandbox.results: objects" in plain.summary
    assert run(tests, plain=False).passed


def test_candidate_frames_reach_the_feedback():
    fb = run("from solution import check\ndef test_big(): assert check(11) == 11\n")
    assert not fb.passed
    assert "solution.py:18: in check" in fb.summary and "TooBig" in fb.summary


@pytest.mark.parametrize("value", [None, True, 0, -2**80, 1.5, math.inf, -0.0, 1j, "é", b"\x00", [1, (2,)],
                                   {1: {"a": frozenset({(1, 2)})}}, set(), ()])
def test_plain_values_round_trip_with_their_exact_types(value):
    back = decode(encode(value))
    assert back == value and type(back) is type(value)
    assert repr(back) == repr(value)


def test_nan_crosses_as_a_fresh_float():
    back = decode(encode(float("nan")))
    assert type(back) is float and math.isnan(back)


@pytest.mark.parametrize("value, words", [
    (type("Lie", (int,), {"__eq__": lambda s, o: True})(1), "a Lie (a subclass of int)"),
    ([1, type("Lie", (str,), {})("x")], "an item of the value is a Lie (a subclass of str)"),
    ((x for x in ()), "a generator"),
    (object(), "an object"),
])
def test_not_plain_values_are_refused(value, words):
    with pytest.raises(NotPlain, match=words.replace("(", r"\(").replace(")", r"\)")):
        encode(value)


def test_cycles_and_depth_are_bounded():
    loop: list = []
    loop.append(loop)
    with pytest.raises(NotPlain, match="contains itself"):
        encode(loop)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(NotPlain, match="nested deeper"):
        encode(deep)


@pytest.mark.parametrize("data", [{"X": 1}, {"L": 1}, {"D": [[{"L": []}, 1]]}, {"L": [], "T": []}, [1]])
def test_malformed_replies_are_refused(data):
    with pytest.raises((ValueError, TypeError)):
        decode(data)
