"""Hostile or broken input through the real CLI: exit 2, one stderr line naming the file (and the
field and line where there is one), no traceback, nothing written.

Every task here names a model file that is not a model (``llamacpp:model.gguf`` holding text): a
run that got past validation would try to load it and exit 3, so each exit 2 below also shows the
input was refused before the model was touched. A YAML bomb is refused at its first anchor (the
message names line 1), before anything is expanded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import GOOD_FIZZ, assert_bad_input, run_cli

BASE = {"name": "fizzbuzz", "prompt": "Write fizzbuzz(n).", "entry_point": "fizzbuzz",
        "feedback": [{"kind": "compile"}], "strategy": {"name": "refine", "max_turns": 2},
        "models": {"default": "llamacpp:model.gguf"}}
BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]\n" for i in range(10))
DEEP = 100_000


def base_with(**changes) -> str:
    return yaml.safe_dump({**BASE, **changes}, sort_keys=False)


def with_models(models: dict) -> str:
    return base_with(models=models)


# (id, task.yaml text or None for "see extra", extra argv, needles after the file name)
TASK_CASES = [
    ("alias-bomb", BOMB, [], ["task.yaml:1:", "anchors and aliases"]),
    ("deep-flow-sequence", "name: x\nprompt: " + "[" * DEEP + "]" * DEEP + "\n", [], ["task.yaml:2:", "nesting deeper"]),
    ("deep-flow-mapping", "name: x\nprompt: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n", [], ["nesting deeper"]),
    ("deep-block", "name: x\nprompt:\n" + "- " * DEEP + "x\n", [], ["task.yaml:3:", "nesting deeper"]),
    ("python-object-tag", "name: !!python/object/apply:os.system ['touch pwned']\nprompt: p\n", [],
     ["task.yaml:1:", "!!python/object/apply:os.system", "not allowed"]),
    ("python-name-tag", base_with() + "starter: !!python/name:os.system\n", [], ["!!python/name:os.system"]),
    ("binary-tag", base_with() + "starter: !!binary aGVsbG8=\n", [], ["!!binary", "not allowed"]),
    ("local-tag", base_with() + "starter: !include ../secret.txt\n", [], ["'!include'", "not allowed"]),
    ("oversize", base_with(starter="x" * (1 << 20)), [], ["larger than"]),
    ("not-utf8", b"name: x\nprompt: \xff\xfe\n", [], ["not UTF-8"]),
    ("huge-integer", base_with() + "budget: {max_tokens: " + "9" * 5000 + "}\n", [], ["invalid value", "digits"]),
    ("unknown-top-key", base_with(promt="p"), [], ["promt", "unknown key"]),
    ("unknown-feedback-option", base_with(feedback=[{"kind": "tests", "cod": "x"}]), [], ["feedback[0]", "cod"]),
    ("unknown-role", base_with(sampling={"reviewer": {"temperature": 0}}), [], ["sampling", "unknown role"]),
    ("wrong-type-budget", base_with(budget={"max_tokens": "lots"}), [], ["budget.max_tokens"]),
    ("wrong-type-feedback", base_with(feedback="compile"), [], ["feedback"]),
    ("bad-name", base_with(name="../../etc"), [], ["name", "pattern"]),
    ("negative-timeout", base_with(sandbox={"timeout_s": -1}), [], ["sandbox.timeout_s"]),
    ("not-a-mapping", "- a\n- b\n", [], ["mapping"]),
    ("empty", "", [], ["mapping"]),
    ("escape-dotdot", with_models({"default": "scripted:../outside.yaml"}), [], ["models.default", "outside the task folder"]),
    ("escape-absolute", "ABSOLUTE", [], ["models.critic", "outside the task folder"]),
    ("escape-symlink-file", with_models({"default": "scripted:link.yaml"}), [], ["models.default", "through a symlink"]),
    ("escape-symlink-dir", with_models({"default": "scripted:dirlink/outside.yaml"}), [], ["through a symlink"]),
    ("set-alias", base_with(), ["--set", "starter=&a [*a, *a]"], ["--set starter", "anchors and aliases"]),
    ("set-python-tag", base_with(), ["--set", "name=!!python/object/apply:os.system [x]"], ["--set name", "not allowed"]),
    ("set-deep", base_with(), ["--set", "prompt=" + "[" * 40_000 + "]" * 40_000], ["--set prompt", "nesting deeper"]),
    ("set-unknown-key", base_with(), ["--set", "budgett.max_tokens=1"], ["--set budgett.max_tokens=1", "unknown key"]),
    ("set-wrong-type", base_with(), ["--set", "sandbox.timeout_s=soon"], ["--set sandbox.timeout_s=soon", "number"]),
    ("set-strategy-param", base_with(), ["--set", "strategy.max_turns=lots"], ["--set strategy.max_turns", "integer"]),
    ("set-not-key-value", base_with(), ["--set", "strategy"], ["--set", "KEY=VALUE"]),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A task folder with a fake model file, and a file and a folder outside it to point at."""
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    (task_dir / "model.gguf").write_text("not a GGUF file\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "outside.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    (tmp_path / "outside.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    (task_dir / "link.yaml").symlink_to(outside / "outside.yaml")
    (task_dir / "dirlink").symlink_to(outside)
    return task_dir


def run_bad(tmp_path: Path, *args: str) -> tuple:
    """Run the CLI from ``tmp_path`` with an explicit store; return the process and what must stay absent."""
    store = tmp_path / "store" / "agentloop.db"
    proc = run_cli(*args, "--store", str(store), cwd=tmp_path)
    return proc, [store.parent, tmp_path / ".agentloop", tmp_path / "pwned", tmp_path / "task" / "pwned"]


def assert_nothing_written(paths: list[Path]) -> None:
    for path in paths:
        assert not path.exists(), f"{path} was written"


def test_the_base_task_is_valid_and_loads_its_model_lazily(folder, tmp_path):
    """The control for every case below: unchanged, the task passes validation and fails only
    when the run first calls its (fake) model: exit 3, not 2."""
    (folder / "task.yaml").write_text(base_with())
    proc = run_cli("run", "task/task.yaml", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "cannot load" in proc.stderr and "model.gguf" in proc.stderr


@pytest.mark.parametrize("text, extra, needles", [c[1:] for c in TASK_CASES], ids=[c[0] for c in TASK_CASES])
def test_bad_task_file_or_set_exits_2_writing_nothing(folder, tmp_path, text, extra, needles):
    if text == "ABSOLUTE":  # an absolute path to a file outside the folder
        text = with_models({"default": "llamacpp:model.gguf", "critic": f"scripted:{tmp_path / 'outside.yaml'}"})
    (folder / "task.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    proc, absent = run_bad(tmp_path, "run", "task/task.yaml", *extra)
    assert_bad_input(proc, *(["--set"] if extra else ["task/task.yaml"]), *needles)
    assert_nothing_written(absent)


@pytest.mark.parametrize("make", [
    pytest.param(lambda folder: folder / "sub", id="directory"),
    pytest.param(lambda folder: (os.mkfifo(folder / "fifo.yaml"), folder / "fifo.yaml")[1], id="fifo"),
    pytest.param(lambda folder: Path("/dev/zero"), id="endless-device"),
    pytest.param(lambda folder: folder / "missing.yaml", id="missing"),
])
def test_a_task_path_that_is_not_a_readable_regular_file_exits_2(folder, tmp_path, make):
    """A FIFO or /dev/zero must not hang the CLI or fill memory: refused on the open file's type."""
    (folder / "sub").mkdir()
    path = make(folder)
    proc, absent = run_bad(tmp_path, "run", str(path))
    assert_bad_input(proc, str(path))
    assert_nothing_written(absent)


SCRIPT_CASES = [
    ("alias-bomb", BOMB, ["script.yaml:1:", "anchors and aliases"]),
    ("deep", "solver:\n" + "- " * DEEP + "x\n", ["script.yaml", "nesting deeper"]),
    ("python-tag", "solver: [!!python/object/apply:os.system ['touch pwned']]\n", ["script.yaml:1:", "not allowed"]),
    ("not-strings", "solver: [1, 2]\n", ["script.yaml", "solver", "list of strings"]),
    ("scalar", "just a string\n", ["script.yaml", "list of replies or a mapping"]),
    ("oversize", yaml.safe_dump(["x" * (1 << 20)]), ["script.yaml", "larger than"]),
]


@pytest.mark.parametrize("text, needles", [c[1:] for c in SCRIPT_CASES], ids=[c[0] for c in SCRIPT_CASES])
def test_bad_scripted_model_file_exits_2_writing_nothing(folder, tmp_path, text, needles):
    (folder / "task.yaml").write_text(with_models({"default": "scripted:script.yaml"}))
    (folder / "script.yaml").write_text(text)
    proc, absent = run_bad(tmp_path, "run", "task/task.yaml")
    assert_bad_input(proc, *needles)
    assert_nothing_written(absent)


def test_model_files_given_on_the_command_line_may_live_anywhere(folder, tmp_path):
    """The folder rule is about task files: ``--model`` (the user's own choice) is not confined."""
    (folder / "task.yaml").write_text(base_with())
    proc = run_cli("run", "task/task.yaml", "--model", f"scripted:{tmp_path / 'outside.yaml'}", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_symlink_that_stays_inside_the_task_folder_is_fine(folder, tmp_path):
    (folder / "script.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    (folder / "alias.yaml").symlink_to("script.yaml")
    (folder / "task.yaml").write_text(with_models({"default": "scripted:alias.yaml"}))
    proc = run_cli("run", "task/task.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("store", ["notes.txt", "notes.txt/s.db", "adir"],
                         ids=["a-text-file", "under-a-file", "a-folder"])
def test_a_store_path_that_cannot_be_a_store_exits_2_leaving_it_alone(folder, tmp_path, store):
    (folder / "task.yaml").write_text(with_models({"default": "scripted:script.yaml"}))
    (folder / "script.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = run_cli("run", "task/task.yaml", "--store", store, cwd=tmp_path)
    assert_bad_input(proc, store, "not a usable agentloop store")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
