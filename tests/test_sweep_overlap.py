"""The local executor overlaps a run's checks with the next run's generation (issue 14, item 6).

A sweep at ``concurrency: 1`` used to leave the model idle while each run checked its candidate
and scored it on the hidden tests. Now the next run starts once every running run is off the
model, so it decodes while the previous run's checks run; with a token budget for the whole
sweep it still waits for the runs ahead of it to be counted.
"""

from __future__ import annotations

import json
import sqlite3

import yaml
from helpers import run_cli
from sweep_fixtures import code

# a visible check that takes a while: the time a slow check (a long test suite) keeps a run busy off the model
SLOW_TEST = "import time\nfrom solution import {name}\ndef test_slow():\n    time.sleep({seconds})\n    assert {name}(1) == {want}\n"


def _experiment(folder, **top):
    (folder / "scripts").mkdir()
    tasks = []
    # neg checks longest: at most 2 x concurrency runs are in flight, so `same` starts when `double`
    # is done, and the 1.5 s between the two ends keeps the order of events clear of scheduling noise
    for name, body, want, seconds in (("double", "return 2 * x", 2, 1.5), ("neg", "return -x", -1, 3.0),
                                      ("same", "return x", 1, 1.5)):
        tasks.append({"name": name, "prompt": f"Write {name}(x).", "entry_point": name,
                      "feedback": [{"kind": "tests", "code": SLOW_TEST.format(name=name, want=want, seconds=seconds)}],
                      "hidden_tests": f"from solution import {name}\ndef test_hidden(): assert {name}(1) == {want}\n"})
        (folder / "scripts" / f"{name}.yaml").write_text(yaml.safe_dump({"solver": [code(f"def {name}(x):\n    {body}")]}))
    (folder / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    doc = {"suite": "tasks.jsonl", "seeds": [0], "concurrency": 1,
           "configs": [{"name": "one", "strategy": {"name": "best_of_n", "n": 1, "temperature": 0},
                        "models": {"default": "scripted:scripts/{task}.yaml"}}], **top}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(doc))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    con = sqlite3.connect(folder / "s.db")
    try:
        # (task, created, finished) of each run, in the order they were created
        return con.execute("SELECT task_name, created, updated FROM runs ORDER BY created").fetchall()
    finally:
        con.close()


def test_next_run_starts_while_the_previous_one_is_still_checking(tmp_path):
    runs = _experiment(tmp_path)
    assert [r[0] for r in runs] == ["double", "neg", "same"]  # started in plan order
    for (_, _, finished), (task, created, _) in zip(runs, runs[1:]):
        assert created < finished, f"{task} waited for the run before it to finish its slow check"
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == ["double", "neg", "same"]  # results in plan order, all passing
    assert [r.split(",")[3] for r in rows] == ["1", "1", "1"]


def test_with_a_token_budget_for_the_sweep_each_run_waits_to_be_counted(tmp_path):
    runs = _experiment(tmp_path, total_budget={"max_tokens": 1})
    assert [r[0] for r in runs] == ["double"]  # the first run spent the budget: no run started beside it
