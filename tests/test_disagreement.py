"""tie_break: disagreement (S*): model-written inputs separate tied candidates, run in the real sandbox."""

from __future__ import annotations

import csv
import json
import sqlite3

import yaml
from helpers import run_cli

import agentloop
from agentloop import Task


def code(body: str) -> str:
    return f"```python\n{body}\n```"


# all three pass the visible test dedupe([1, 1, 2]) == [1, 2]; only the first two keep the order
KEEP_A = code("def dedupe(xs):\n    return list(dict.fromkeys(xs))")
KEEP_B = code("def dedupe(xs):\n    seen, out = set(), []\n    for x in xs:\n        if x not in seen:\n"
              "            seen.add(x)\n            out.append(x)\n    return out")
SORTS = code("def dedupe(xs):\n    return sorted(set(xs))")
WRONG = code("def dedupe(xs):\n    return list(reversed(xs))")  # fails the visible test
TESTER = code("dedupe([3, 1, 3])\ndedupe([])\nassert dedupe([2, 1]) == [2, 1]")
VISIBLE = "from solution import dedupe\ndef test_one(): assert dedupe([1, 1, 2]) == [1, 2]\n"
HIDDEN = "from solution import dedupe\ndef test_order(): assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]\n"


def dedupe_task(make_task, solver, tester=(TESTER,), tie_break="disagreement", **params):
    return make_task({"solver": list(solver), "tester": list(tester)}, name="dedupe", entry_point="dedupe",
                     prompt="Write dedupe(xs) keeping the first of each item, in order.",
                     feedback=[{"kind": "compile"}, {"kind": "tests", "code": VISIBLE}], hidden_tests=HIDDEN,
                     strategy={"name": "best_of_n", "n": len(solver), "early_stop": False, "tie_break": tie_break,
                               **params})


def note_of(result):
    [note] = [t for t in result.graph.turns() if t.role == "disagreement"]
    return note, note.feedback[0].details


def test_the_majority_on_model_written_inputs_beats_the_latest_candidate(make_task, tmp_path):
    plain = agentloop.run(Task.from_yaml(dedupe_task(make_task, [KEEP_A, KEEP_B, SORTS], tie_break="latest")),
                          store=tmp_path / "a.db")
    assert plain.hidden_tests["passed"] is False  # without the selector the latest passing candidate is submitted
    result = agentloop.run(Task.from_yaml(dedupe_task(make_task, [KEEP_A, KEEP_B, SORTS])), store=tmp_path / "b.db")
    note, details = note_of(result)
    tester = next(t for t in result.graph.turns() if t.role == "tester")
    assert tester.usage.total > 0 and details["tester"] == tester.id  # a model turn, counted in the budget
    assert details["selected_by"] == "model-written inputs" and note.model == "agentloop:disagreement"
    assert details["inputs"] == ["dedupe([3, 1, 3])", "dedupe([])", "dedupe([2, 1])"]
    groups = {tuple(g["outputs"]): sorted(g["candidates"]) for g in details["groups"]}
    assert groups == {("[3, 1]", "[]", "[2, 1]"): ["t1", "t2"], ("[1, 3]", "[]", "[1, 2]"): ["t3"]}
    assert details["default"] == "t3" and details["chosen"] == "t2"  # the latest of the majority
    assert result.hidden_tests["passed"] is True and result.status == "solved"
    assert "out.append(x)" in result.solution


def test_a_candidate_failing_a_visible_check_never_wins_the_vote(make_task, tmp_path):
    # three failing candidates agree on every input; the two passing ones disagree with each other
    result = agentloop.run(Task.from_yaml(dedupe_task(make_task, [WRONG, WRONG, WRONG, KEEP_A, SORTS])),
                           store=tmp_path / "s.db")
    note, details = note_of(result)
    voters = sorted(c for g in details["groups"] for c in g["candidates"])
    assert voters == ["t4", "t5"]  # only candidates tied with the best on the checks take part
    assert result.graph[details["chosen"]].passed and result.graph.best().passed
    assert result.solution is not None and "reversed" not in result.solution


def test_lying_objects_cannot_pass_as_equal_outputs(make_task, tmp_path):
    liar = code("class Same(list):\n    def __eq__(self, other):\n        return True\n    def __repr__(self):\n"
                "        return '[3, 1]'\n\ndef dedupe(xs):\n    return Same(dict.fromkeys(xs)) if xs == [3, 1, 3] "
                "else list(dict.fromkeys(xs))")
    boom = code("class Boom:\n    def __repr__(self):\n        raise RuntimeError('no')\n    def __eq__(self, other):\n"
                "        return True\n\ndef dedupe(xs):\n    return Boom() if xs == [3, 1, 3] else list(dict.fromkeys(xs))")
    # neither object crosses the solution boundary (only exact builtin types do): each outcome reads
    # "not plain data", and a candidate with an outcome that is not data takes no part in the vote
    result = agentloop.run(Task.from_yaml(dedupe_task(make_task, [boom, KEEP_A, liar, KEEP_B, SORTS])),
                           store=tmp_path / "s.db")
    note, details = note_of(result)
    silent = {row["candidate"]: row["outputs"] for row in details["no_outputs"]}
    assert silent == {"t1": ["not plain data", "[]", "[2, 1]"], "t3": ["not plain data", "[]", "[2, 1]"]}
    assert sorted(c for g in details["groups"] for c in g["candidates"]) == ["t2", "t4", "t5"]
    assert details["chosen"] == "t4" and result.hidden_tests["passed"] is True


def test_garbage_from_the_tester_is_recorded_and_the_default_pick_stands(make_task, tmp_path):
    garbage = "I think the programs are fine.\n```python\nimport os\nos.system('rm -rf /')\ndedupe(*x)\n" \
              "dedupe([1] * 10**9)\nprint(dedupe(open('/etc/passwd')))\n" + "(" * 500 + "\n```"
    result = agentloop.run(Task.from_yaml(dedupe_task(make_task, [KEEP_A, SORTS], tester=[garbage])),
                           store=tmp_path / "s.db")
    note, details = note_of(result)
    assert details["inputs"] == [] and details["lines_rejected"] == 5 and "no call of dedupe" in details["error"]
    assert details["chosen"] == details["default"] == "t2" and result.status == "unsolved"  # t2 sorts: hidden fails
    assert "failed" in note.output


def test_a_candidate_that_hangs_takes_no_part_in_the_vote(make_task, tmp_path):
    hang = code("def dedupe(xs):\n    while xs == [3, 1, 3]:\n        pass\n    return list(dict.fromkeys(xs))")
    path = dedupe_task(make_task, [hang, hang, SORTS])
    data = yaml.safe_load(path.read_text())
    data["sandbox"] = {"timeout_s": 2}
    path.write_text(yaml.safe_dump(data))
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    _, details = note_of(result)
    assert details["no_outputs"] == [{"candidate": "t1", "outputs": None}, {"candidate": "t2", "outputs": None}]
    assert details["chosen"] == "t3" and len(details["groups"]) == 1


def test_resume_replays_the_stored_selection(make_task, tmp_path):
    first = agentloop.run(Task.from_yaml(dedupe_task(make_task, [KEEP_A, KEEP_B, SORTS])), store=tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as db:  # as if killed after the note was committed
        db.execute("UPDATE runs SET status = 'running', result_json = NULL")
    again = agentloop.resume(first.run_id, store=tmp_path / "s.db")
    assert again.solution == first.solution and again.turns == first.turns == 5
    assert note_of(again)[1] == note_of(first)[1]


def test_the_task_must_have_a_python_entry_point(make_task, tmp_path):
    path = make_task({"solver": [KEEP_A]}, entry_point=None, strategy={"name": "tree", "tie_break": "disagreement"})
    proc = run_cli("run", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and "strategy.tie_break" in proc.stderr and "Traceback" not in proc.stderr


def test_a_sweep_labels_the_pick_as_made_by_model_written_inputs(tmp_path):
    task = {"name": "dedupe", "prompt": "Write dedupe(xs).", "entry_point": "dedupe",
            "feedback": [{"kind": "tests", "code": VISIBLE}], "hidden_tests": HIDDEN}
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tasks.jsonl").write_text(json.dumps(task) + "\n")
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"solver": [KEEP_A, KEEP_B, SORTS], "tester": [TESTER]}))
    sweep = {"suite": "suite/tasks.jsonl", "seeds": [0], "models": {"default": "scripted:script.yaml"},
             "configs": [{"name": "sstar", "strategy": {"name": "best_of_n", "n": 3, "early_stop": False,
                                                        "tie_break": "disagreement"}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [run] = json.loads((tmp_path / "out" / "results.json").read_text())["runs"]
    assert run["model_inputs"] is True and run["passed"] is True  # the majority keeps the order; SORTS does not
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "ties broken by the majority of outputs on model-written inputs (S*)" in summary
    assert "token confidence" not in summary and "pass@k of" in summary
    with (tmp_path / "out" / "results.csv").open() as fh:
        [row] = list(csv.DictReader(fh))
    assert "model-written inputs" in row["picked_by"]


def test_the_outputs_kind_reports_what_a_candidate_returns_and_refuses_code_as_a_call(make_task, tmp_path):
    path = make_task({"solver": [SORTS]}, name="dedupe", entry_point="dedupe", prompt="Write dedupe(xs).",
                     strategy={"name": "refine", "max_turns": 1},
                     feedback=[{"kind": "outputs", "calls": ["dedupe([3, 1, 3])", "dedupe(xs=[{2, 1}])"]}])
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    [fb] = result.graph["t1"].feedback
    assert fb.details["outputs"] == ["[1, 3]", "raised TypeError"] and not fb.passed  # a set is not hashable
    assert "dedupe([3, 1, 3]) -> [1, 3]" in fb.summary
    bad = make_task({"solver": [SORTS]}, feedback=[{"kind": "outputs", "calls": ["__import__('os').system('id')"]}])
    proc = run_cli("run", str(bad), cwd=tmp_path)
    assert proc.returncode == 2 and "feedback[0].calls" in proc.stderr and "Traceback" not in proc.stderr


def test_tree_breaks_its_ties_the_same_way(make_task, tmp_path):
    path = make_task({"solver": [SORTS, KEEP_A, KEEP_B], "tester": [TESTER]}, name="dedupe", entry_point="dedupe",
                     prompt="Write dedupe(xs).", feedback=[{"kind": "tests", "code": VISIBLE}], hidden_tests=HIDDEN,
                     strategy={"name": "tree", "initial": 3, "tie_break": "disagreement"})
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    _, details = note_of(result)
    assert details["default"] == "t3" and details["chosen"] == "t3"  # the default is in the majority: it stays
    assert [len(g["candidates"]) for g in details["groups"]] == [1, 2] and result.hidden_tests["passed"] is True


def test_a_tie_among_candidates_failing_a_visible_check_is_left_alone(make_task, tmp_path):
    result = agentloop.run(Task.from_yaml(dedupe_task(make_task, [WRONG, code("def dedupe(xs):\n    return xs")])),
                           store=tmp_path / "s.db")
    assert [t.role for t in result.graph.turns()] == ["solver", "solver"]  # no tester turn spent, no note


def test_a_task_without_checks_is_decided_by_the_vote_alone(make_task, tmp_path):
    path = dedupe_task(make_task, [KEEP_A, KEEP_B, SORTS])
    data = yaml.safe_load(path.read_text())
    data["feedback"] = []
    path.write_text(yaml.safe_dump(data))
    result = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")
    details = note_of(result)[1]
    assert (details["default"], details["chosen"]) == ("t3", "t2") and result.hidden_tests["passed"] is True


def test_outputs_that_differ_only_past_the_cut_never_read_as_equal(make_task, tmp_path):
    # two sorts that differ only at the end of a long list: cut to output_chars they would look the same
    outcomes = []
    for body in ("return sorted(xs)", "out = sorted(xs)\n    return out[:-2] + out[-2:][::-1]"):
        solver = [f"```python\ndef sort_all(xs):\n    {body}\n```"]
        path = make_task({"solver": solver}, name="sort_all", entry_point="sort_all", prompt="Write sort_all(xs).",
                         strategy={"name": "refine", "max_turns": 1},
                         feedback=[{"kind": "outputs", "calls": [f"sort_all({list(range(150, 0, -1))})"],
                                    "output_chars": 40}])
        [fb] = agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db").graph["t1"].feedback
        outcomes.append(fb.details["outputs"][0])
    assert outcomes[0][:40] == outcomes[1][:40] and "sha256" in outcomes[0]
    assert outcomes[0] != outcomes[1]  # the digest of the whole output tells them apart
