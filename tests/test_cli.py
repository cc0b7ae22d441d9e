"""The CLI as a user runs it: exit codes 0/1/2/3, one JSON object, one-line errors, nothing written on bad input."""

from __future__ import annotations

import yaml
from helpers import BAD_FIZZ, GOOD_FIZZ, assert_bad_input, cli_json, run_cli

SPEC_KEYS = {"run_id", "task", "status", "solution", "score", "turns", "tokens", "seconds", "hidden_tests"}


def test_solved_run_exits_0_and_prints_one_json_object(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]})
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = cli_json(proc)
    assert SPEC_KEYS <= set(out)
    assert out["status"] == "solved" and out["turns"] == 3 and out["hidden_tests"] is None
    assert {"prompt", "completion"} <= set(out["tokens"]) and out["tokens"]["prompt"] > 0
    assert "t1 solver" in proc.stderr  # progress goes to stderr
    assert (tmp_path / ".agentloop" / "agentloop.db").is_file()


def test_unsolved_run_exits_1(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ]})
    proc = run_cli("run", str(path), "--set", "strategy.max_turns=1", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    assert cli_json(proc)["status"] == "unsolved"


def test_invalid_task_file_exits_2_naming_file_field_and_line_writing_nothing(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    data = yaml.safe_load(path.read_text())
    data["strategy"]["max_turnz"] = 3
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = run_cli("run", str(path), cwd=tmp_path)
    assert_bad_input(proc, str(path), "strategy.max_turnz", "unknown key")
    assert not (tmp_path / ".agentloop").exists()


def test_unreadable_task_file_exits_2(tmp_path):
    assert_bad_input(run_cli("run", "missing.yaml", cwd=tmp_path), "missing.yaml", "cannot read")
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x]\nb: &b [*a, *a]\n")
    assert_bad_input(run_cli("run", "bomb.yaml", cwd=tmp_path), "bomb.yaml", "aliases")
    assert not (tmp_path / ".agentloop").exists()


def test_unknown_model_uri_exits_2(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    assert_bad_input(run_cli("run", str(path), "--model", "gpt:4", cwd=tmp_path), "unknown model URI")
    assert_bad_input(run_cli("run", str(path), "--model", "scripted:nope.yaml", cwd=tmp_path), "file not found")
    assert_bad_input(run_cli("run", str(path), "--set", "models.critic=scripted:gone.yaml", cwd=tmp_path),
                     "models.critic", "gone.yaml")
    assert_bad_input(run_cli("run", str(path), "--model", "litellm:openai/x?atempts=3", cwd=tmp_path),
                     "unknown parameter 'atempts'")
    assert_bad_input(run_cli("run", str(path), "--model", "llamacpp:default?n_ctx=lots", cwd=tmp_path),
                     "n_ctx must be an integer")
    assert not (tmp_path / ".agentloop").exists()


def test_bad_set_exits_2(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    assert_bad_input(run_cli("run", str(path), "--set", "strategy", cwd=tmp_path), "--set", "KEY=VALUE")
    assert_bad_input(run_cli("run", str(path), "--set", "strategy.max_turns=lots", cwd=tmp_path), "strategy.max_turns")


def test_invalid_scripted_file_exits_2(make_task, tmp_path):
    path = make_task({"solvr": [GOOD_FIZZ]})
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "solvr", "unknown role")


def test_exhausted_script_exits_3_and_the_run_resumes_after_the_script_grows(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": []})
    proc = run_cli("run", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 3
    out = cli_json(proc)
    assert out["status"] == "error" and out["turns"] == 2
    assert "ran out of replies" in proc.stderr.strip().splitlines()[-1]
    script = path.parent / "script.yaml"
    script.write_text(yaml.safe_dump({"solver": [BAD_FIZZ], "critic": ["c"], "refiner": [GOOD_FIZZ]}))
    proc = run_cli("resume", out["run_id"], "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    resumed = cli_json(proc)
    assert resumed["run_id"] == out["run_id"] and resumed["status"] == "solved" and resumed["turns"] == 3


def test_show_prints_the_graph_and_show_json_every_turn(make_task, tmp_path):
    path = make_task({"solver": [BAD_FIZZ], "critic": ["fix five\x1b[31m"], "refiner": [GOOD_FIZZ]})
    run_id = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))["run_id"]
    text = run_cli("show", run_id, cwd=tmp_path)
    assert text.returncode == 0
    assert "t3 refiner" in text.stdout and "<- t1, t2" in text.stdout and "tests:FAIL" in text.stdout
    assert "\x1b" not in text.stdout and "\\x1b" in text.stdout  # model output cannot drive the terminal
    shown = cli_json(run_cli("show", run_id, "--json", cwd=tmp_path))
    assert shown["run_id"] == run_id and shown["status"] == "solved"
    t1, t2, t3 = shown["turns"]
    for turn in shown["turns"]:
        assert {"id", "parents", "role", "model", "messages", "output", "candidate", "feedback", "score", "usage"} <= set(turn)
    assert t3["parents"] == ["t1", "t2"]
    assert t1["messages"][0]["role"] == "system" and "fizzbuzz" in t1["messages"][-1]["content"]
    assert {"kind", "passed", "score", "summary"} <= set(t1["feedback"][1])
    assert t1["feedback"][1]["passed"] is False and t1["usage"]["prompt"] > 0


def test_show_and_resume_of_unknown_run_exit_2(make_task, tmp_path):
    assert_bad_input(run_cli("resume", "nosuchrun", cwd=tmp_path), "no store at")
    assert not (tmp_path / ".agentloop").exists()
    run_cli("run", str(make_task({"solver": [GOOD_FIZZ]})), cwd=tmp_path)
    assert_bad_input(run_cli("show", "nosuchrun", cwd=tmp_path), "no run 'nosuchrun'")
    assert_bad_input(run_cli("resume", "nosuchrun", cwd=tmp_path), "no run 'nosuchrun'")


def test_store_flag_and_environment_move_the_store(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]})
    proc = run_cli("run", str(path), "--store", str(tmp_path / "elsewhere.db"), "--json", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "elsewhere.db").is_file()
    assert run_cli("show", cli_json(proc)["run_id"], "--store", str(tmp_path / "elsewhere.db"), cwd=tmp_path).returncode == 0
