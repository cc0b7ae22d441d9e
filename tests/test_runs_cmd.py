"""`agentloop runs` lists stored runs; `latest` works wherever a run id does."""

from __future__ import annotations

import json

import pytest
from helpers import BAD_FIZZ, GOOD_FIZZ, assert_bad_input, cli_json, run_cli


def _two_runs(make_task, tmp_path):
    solved = make_task({"solver": [GOOD_FIZZ]})
    unsolved = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [BAD_FIZZ]}, name="other",
                         strategy={"name": "refine", "max_turns": 2})
    first = cli_json(run_cli("run", str(solved), "--json", cwd=tmp_path))
    second = cli_json(run_cli("run", str(unsolved), "--json", cwd=tmp_path))
    return first, second


def test_runs_lists_newest_first_and_filters(make_task, tmp_path):
    first, second = _two_runs(make_task, tmp_path)
    listed = json.loads(run_cli("runs", "--json", cwd=tmp_path).stdout)
    assert [r["run_id"] for r in listed] == [second["run_id"], first["run_id"]]
    assert listed[1]["status"] == "solved" and listed[1]["result"]["score"] == 1.0
    only = json.loads(run_cli("runs", "--json", "--status", "unsolved", cwd=tmp_path).stdout)
    assert [r["run_id"] for r in only] == [second["run_id"]]
    by_task = json.loads(run_cli("runs", "--json", "--task", "fizzbuzz", cwd=tmp_path).stdout)
    assert [r["task"] for r in by_task] == ["fizzbuzz"]
    table = run_cli("runs", cwd=tmp_path).stdout.splitlines()
    assert table[1].startswith(second["run_id"]) and "unsolved" in table[1] and "solved" in table[2]
    assert table[2].split()[-2] == str(first["tokens"]["prompt"] + first["tokens"]["completion"])


def test_latest_names_the_newest_run_for_show_resume_and_report(make_task, tmp_path):
    _, second = _two_runs(make_task, tmp_path)
    shown = cli_json(run_cli("show", "latest", "--json", cwd=tmp_path))
    assert shown["run_id"] == second["run_id"]
    resumed = run_cli("resume", "latest", "--json", cwd=tmp_path)
    assert resumed.returncode == 1 and cli_json(resumed)["run_id"] == second["run_id"]
    out = tmp_path / "r.html"
    assert run_cli("report", "latest", "-o", str(out), cwd=tmp_path).returncode == 0
    assert second["run_id"] in out.read_text()


def test_show_never_prints_a_bare_none(make_task, tmp_path):
    _two_runs(make_task, tmp_path)
    text = run_cli("show", "latest", cwd=tmp_path).stdout
    metrics = next(line for line in text.splitlines() if line.startswith("metrics:"))
    assert "None" not in metrics and "n/a (none passed)" in metrics


def test_latest_in_an_empty_store_and_a_bad_status_are_bad_input(make_task, tmp_path):
    run_cli("run", str(make_task({"solver": [GOOD_FIZZ]})), cwd=tmp_path)
    assert_bad_input(run_cli("runs", "--status", "done", cwd=tmp_path), "--status", "done")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_bad_input(run_cli("show", "latest", cwd=empty), "no store")


def test_a_scripted_model_built_in_memory_runs_a_task(tmp_path):
    """Library users script a model in Python, per role, without writing a file."""
    from helpers import FIZZ_TESTS

    import agentloop
    task = agentloop.Task.from_dict({"name": "fizzbuzz", "prompt": "Write fizzbuzz(n).", "entry_point": "fizzbuzz",
                                     "feedback": [{"kind": "tests", "code": FIZZ_TESTS}],
                                     "strategy": {"name": "refine", "max_turns": 2}})
    model = agentloop.ScriptedModel({"solver": [BAD_FIZZ], "critic": ["5 must give Buzz"], "refiner": [GOOD_FIZZ]})
    result = agentloop.run(task, model=model, store=tmp_path / "s.db")
    assert result.status == "solved" and [t.role for t in result.graph.turns()] == ["solver", "critic", "refiner"]
    with pytest.raises(agentloop.InputError, match="unknown role"):
        agentloop.ScriptedModel({"writer": ["x"]})


def test_a_run_without_any_candidate_prints_no_none(make_task, tmp_path):
    """A run that ends before its first candidate (the model failed at once) has no score and no metrics."""
    proc = run_cli("run", str(make_task({"critic": ["unused"]})), cwd=tmp_path)
    assert proc.returncode == 3 and "'solver' ran out of replies" in proc.stderr
    for text in (proc.stdout, run_cli("show", "latest", cwd=tmp_path).stdout, run_cli("runs", cwd=tmp_path).stdout):
        assert text.strip() and "None" not in text, text
    assert "score n/a (no candidate)" in proc.stdout and "candidates/pass n/a (none passed)" in proc.stdout
