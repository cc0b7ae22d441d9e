"""``agentloop export``: SFT, DPO and critique lines from real stored runs, checked against the
published schemas, loaded with the JSON reader TRL uses (``datasets``), never leaking hidden tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import jsonschema
import pytest
from helpers import (
    BAD_FIZZ,
    FIZZ_HIDDEN,
    GOOD_FIZZ,
    HIDDEN_MARKER,
    REPO,
    cli_json,
    run_cli,
)
from test_cli import assert_bad_input

from agentloop.views.export import FORMATS, schema

# passes test_three only / test_five only: two different failing candidates with the same checks
FIVE_ONLY = '```python\ndef fizzbuzz(n):\n    return "Buzz" if n % 5 == 0 else str(n)\n```'
# passes the visible tests (3 and 5) but not the hidden one (15 must be FizzBuzz)
VISIBLE_ONLY = textwrap.dedent('''\
    ```python
    def fizzbuzz(n):
        if n % 3 == 0:
            return "Fizz"
        if n % 5 == 0:
            return "Buzz"
        return str(n)
    ```''')
CRITIC_1, CRITIC_2 = "fizzbuzz(5) must be Buzz.", "Now 3 is wrong: check 15, then 3, then 5."


def code(reply: str) -> str:
    return reply.split("```python\n", 1)[1].rsplit("```", 1)[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A store with: a refine run that fails twice then passes (hidden tests pass), a best-of-n run
    with failing siblings, and a run whose solution passes the visible checks but not the hidden tests."""
    base = tmp_path_factory.mktemp("export")
    store = base / "runs.db"
    task = {"name": "fizzbuzz", "prompt": "Write fizzbuzz(n) returning Fizz, Buzz, FizzBuzz or str(n).",
            "entry_point": "fizzbuzz", "hidden_tests": FIZZ_HIDDEN, "models": {"default": "scripted:script.yaml"},
            "feedback": [{"kind": "compile"},
                         {"kind": "tests", "code": "from solution import fizzbuzz\n"
                                                   "def test_three(): assert fizzbuzz(3) == 'Fizz'\n"
                                                   "def test_five(): assert fizzbuzz(5) == 'Buzz'\n"}]}
    plans = {
        "refine": ({**task, "strategy": {"name": "refine", "max_turns": 3}},
                   {"solver": [BAD_FIZZ], "critic": [CRITIC_1, CRITIC_2], "refiner": [FIVE_ONLY, GOOD_FIZZ]}),
        "sample": ({**task, "strategy": {"name": "best_of_n", "n": 3, "early_stop": False}},
                   {"solver": [BAD_FIZZ, GOOD_FIZZ, FIVE_ONLY]}),
        "hidden_fail": ({**task, "strategy": {"name": "refine", "max_turns": 1}}, {"solver": [VISIBLE_ONLY]}),
    }
    ids = {}
    for name, (data, script) in plans.items():
        folder = base / name
        folder.mkdir()
        (folder / "task.yaml").write_text(json.dumps(data))
        (folder / "script.yaml").write_text(json.dumps(script))
        proc = run_cli("run", str(folder / "task.yaml"), "--store", str(store), "--json", cwd=base)
        ids[name] = cli_json(proc)
    assert [ids[n]["status"] for n in plans] == ["solved", "solved", "unsolved"]
    return {"store": store, "base": base, **{n: r["run_id"] for n, r in ids.items()}}


def export(runs: dict, fmt: str, *args: str, name: str | None = None) -> list[dict]:
    out = runs["base"] / (name or f"{fmt}.jsonl")
    proc = run_cli("export", "--format", fmt, *args, "--store", str(runs["store"]), "-o", str(out), cwd=runs["base"])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        jsonschema.validate(line, schema(fmt))
    assert HIDDEN_MARKER not in text  # hidden tests never reach training data
    return lines


def test_hidden_tests_are_in_the_store_but_in_no_exported_line(runs):
    assert HIDDEN_MARKER in runs["store"].read_bytes().decode("utf-8", "replace")  # the check below means something
    for fmt in FORMATS:
        assert export(runs, fmt)  # each format has lines, none with the marker (checked in export)


def test_sft_keeps_only_solutions_verified_by_every_check_and_the_hidden_tests(runs):
    lines = export(runs, "sft")
    assert {(line["run_id"], line["turn"]) for line in lines} == {(runs["refine"], "t5"), (runs["sample"], "t2")}
    for line in lines:
        assert line["messages"][-1] == {"role": "assistant", "content": f"```python\n{code(GOOD_FIZZ).rstrip()}\n```"}
        assert line["messages"][-2]["role"] == "user"
    refine = next(line for line in lines if line["run_id"] == runs["refine"])
    assert CRITIC_2 in [m["content"] for m in refine["messages"]]  # the whole conversation that led to it
    assert not any(line["run_id"] == runs["hidden_fail"] for line in lines)  # visible pass, hidden fail


def test_dpo_pairs_a_verified_candidate_with_failing_ancestors_and_siblings(runs):
    lines = export(runs, "dpo")
    pairs = {(line["run_id"], line["turn"], line["rejected_turn"]) for line in lines}
    # sample's (t2, t1) is the same example as refine's (t5, t1): the same task prompt, the same good
    # and bad code; it is written once, for the run found first
    assert pairs == {(runs["refine"], "t5", "t1"), (runs["refine"], "t5", "t3"), (runs["sample"], "t2", "t3")}
    for line in lines:
        assert line["prompt"][-1]["role"] == "user" and "Write fizzbuzz(n)" in line["prompt"][1]["content"]
        assert code(GOOD_FIZZ).strip() in line["chosen"][0]["content"]
        assert line["rejected"][0]["content"] != line["chosen"][0]["content"]
        assert line["score_chosen"] > line["score_rejected"]
    by_rejected = {line["rejected_turn"]: line for line in lines if line["run_id"] == runs["refine"]}
    assert CRITIC_1 in [m["content"] for m in by_rejected["t3"]["prompt"]]  # both answer the refinement prompt
    assert len(by_rejected["t1"]["prompt"]) == 2  # t1 and t5 share only the task prompt


def test_critique_records_say_whether_the_refinement_improved_the_verdict(runs):
    lines = [line for line in export(runs, "critique") if line["run_id"] == runs["refine"]]
    assert [(line["critique"], line["improved"]) for line in lines] == [(CRITIC_1, False), (CRITIC_2, True)]
    first, second = lines
    assert first["candidate"] == code(BAD_FIZZ) and first["refined"] == code(FIVE_ONLY)
    assert second["candidate"] == code(FIVE_ONLY) and second["refined"] == code(GOOD_FIZZ)
    assert any(not fb["passed"] and "test_three" in fb["summary"] for fb in second["feedback"])
    assert second["task"] == {"name": "fizzbuzz", "prompt": "Write fizzbuzz(n) returning Fizz, Buzz, FizzBuzz or str(n).",
                              "language": "python"}


def test_named_runs_min_score_and_identical_lines_written_once(runs):
    only = export(runs, "dpo", runs["sample"], runs["sample"], name="named.jsonl")
    assert {line["run_id"] for line in only} == {runs["sample"]} and len(only) == 2
    assert export(runs, "sft", "--min-score", "1.01", name="none.jsonl") == []
    # the same run made again gives the same examples: they are written once
    again = run_cli("run", str(runs["base"] / "sample" / "task.yaml"), "--store", str(runs["store"]), "--json",
                    cwd=runs["base"])
    assert again.returncode == 0
    assert len(export(runs, "dpo", runs["sample"], cli_json(again)["run_id"], name="twice.jsonl")) == 2


def test_lines_load_with_the_json_reader_trl_uses(runs, tmp_path):
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    files = {fmt: str(runs["base"] / f"{fmt}.jsonl") for fmt in FORMATS}
    for fmt in FORMATS:
        export(runs, fmt)
    script = ("import datasets, json, sys\n"
              "for fmt, path in json.loads(sys.argv[1]).items():\n"
              "    ds = datasets.load_dataset('json', data_files=path, split='train')\n"
              "    print(fmt, ds.num_rows, sorted(ds.column_names))\n")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(files)], env=env, capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    loaded = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert loaded["sft"].startswith("sft 2 ") and "'messages'" in loaded["sft"]
    assert loaded["dpo"].startswith("dpo 3 ") and all(f"'{k}'" in loaded["dpo"] for k in ("prompt", "chosen", "rejected"))
    assert loaded["critique"].startswith("critique 2 ")


def test_bad_input_exits_2_writing_nothing(runs, tmp_path):
    store = str(runs["store"])
    assert_bad_input(run_cli("export", "--format", "ppo", "--store", store, "-o", "x.jsonl", cwd=tmp_path), "ppo")
    assert_bad_input(run_cli("export", "--format", "sft", "nope", "--store", store, "-o", "x.jsonl", cwd=tmp_path), "nope")
    assert_bad_input(run_cli("export", "--format", "sft", "--store", store, "-o", "gone/x.jsonl", cwd=tmp_path), "gone")
    assert_bad_input(run_cli("export", "--format", "sft", "--store", "no.db", "-o", "x.jsonl", cwd=tmp_path), "no.db")
    assert list(tmp_path.iterdir()) == []


def test_schemas_are_valid_and_ship_in_the_wheel(tmp_path):
    for fmt in FORMATS:
        jsonschema.Draft202012Validator.check_schema(schema(fmt))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [wheel] = Path(tmp_path).glob("agentloop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"agentloop/schemas/export-{fmt}.schema.json" for fmt in FORMATS} <= names
    assert {"agentloop/report/page.html.j2", "agentloop/report/report.js", "agentloop/report/report.css"} <= names
