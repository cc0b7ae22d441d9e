"""Task files: validation with file/field/line errors, overrides, safe YAML, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Task, TaskFileError
from agentloop.errors import OverrideError
from agentloop.task.overrides import apply_overrides

MINIMAL = "name: t\nprompt: do it\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


def test_minimal_task_gets_defaults(tmp_path):
    task = Task.from_yaml(write(tmp_path, MINIMAL))
    assert task.language == "python"
    assert [f.kind for f in task.feedback] == ["compile"]
    assert task.strategy.name == "refine"
    assert task.models == {"default": "llamacpp:default"}  # every role, the critic too, uses the default
    assert task.source_dir == tmp_path.resolve()


def test_unknown_top_level_key_names_file_field_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "langauge: c\n")
    with pytest.raises(TaskFileError) as err:
        Task.from_yaml(path)
    assert str(err.value) == f"{path}:3: langauge: unknown key"


def test_unknown_key_inside_a_feedback_kind_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, MINIMAL + "feedback:\n  - kind: tests\n    code: x\n    cdoe: y\n")
    with pytest.raises(TaskFileError) as err:
        Task.from_yaml(path)
    assert "feedback[0].cdoe: unknown key" in str(err.value)
    assert err.value.line == 6


def test_unknown_feedback_kind_and_strategy_are_errors(tmp_path):
    with pytest.raises(TaskFileError, match=r"feedback\[0\].kind: unknown feedback kind 'tset'"):
        Task.from_yaml(write(tmp_path, MINIMAL + "feedback:\n  - kind: tset\n"))
    with pytest.raises(TaskFileError, match="strategy.name: unknown strategy 'refien'"):
        Task.from_yaml(write(tmp_path, MINIMAL + "strategy: refien\n"))


def test_strategy_parameters_are_validated_by_the_strategy(tmp_path):
    with pytest.raises(TaskFileError, match="strategy.max_turn: unknown key"):
        Task.from_yaml(write(tmp_path, MINIMAL + "strategy: {name: refine, max_turn: 3}\n"))
    with pytest.raises(TaskFileError, match="strategy.max_turns"):
        Task.from_yaml(write(tmp_path, MINIMAL + "strategy: {name: refine, max_turns: 0}\n"))


def test_wrong_types_and_missing_keys(tmp_path):
    with pytest.raises(TaskFileError, match="budget.max_tokens"):
        Task.from_yaml(write(tmp_path, MINIMAL + "budget: {max_tokens: lots}\n"))
    with pytest.raises(TaskFileError, match="prompt: required key is missing"):
        Task.from_yaml(write(tmp_path, "name: t\n"))
    with pytest.raises(TaskFileError, match="models: unknown role 'reviewer'"):
        Task.from_yaml(write(tmp_path, MINIMAL + "models: {reviewer: scripted:x.yaml}\n"))


@pytest.mark.parametrize("text, message", [
    ("a: &x [1, 2]\nb: *x\n", "anchors and aliases"),
    ("name: !!python/object/apply:os.system [echo hi]\n", "tag .* is not allowed"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nesting deeper"),
    ("name: [unclosed\n", "invalid YAML"),
    ("- just\n- a list\n", "mapping"),
])
def test_hostile_or_broken_yaml_is_rejected(tmp_path, text, message):
    with pytest.raises(TaskFileError, match=message):
        Task.from_yaml(write(tmp_path, text))


def test_oversized_and_missing_files(tmp_path):
    with pytest.raises(TaskFileError, match="larger than"):
        Task.from_yaml(write(tmp_path, MINIMAL + "starter: '" + "x" * (2 << 20) + "'\n"))
    with pytest.raises(TaskFileError, match="cannot read file"):
        Task.from_yaml(tmp_path / "nope.yaml")


def test_overrides_set_nested_keys_with_yaml_types(tmp_path):
    task = Task.from_yaml(write(tmp_path, MINIMAL + "strategy: refine\n"),
                          overrides=["strategy.max_turns=2", "models.critic=scripted:c.yaml", "budget.max_seconds=1.5"])
    assert task.strategy.params == {"max_turns": 2}
    assert task.models["critic"] == "scripted:c.yaml"
    assert task.budget.max_seconds == 1.5


def test_override_errors_are_input_errors():
    with pytest.raises(OverrideError, match="expected KEY=VALUE"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(OverrideError, match="not an index"):
        apply_overrides({"feedback": [{}]}, ["feedback.3.weight=1"])
    with pytest.raises(OverrideError, match="not a mapping"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_override_of_feedback_item_reaches_validation(tmp_path):
    path = write(tmp_path, MINIMAL + "feedback:\n  - kind: compile\n")
    assert Task.from_yaml(path, overrides=["feedback.0.weight=0.5"]).feedback[0].weight == 0.5
    with pytest.raises(TaskFileError, match="feedback.0.weight|feedback\\[0\\].weight"):
        Task.from_yaml(path, overrides=["feedback.0.weight=-1"])


names = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(name=names, prompt=texts, turns=st.integers(1, 50), weight=st.floats(0, 10, allow_nan=False),
       max_tokens=st.none() | st.integers(1, 10**6))
def test_task_round_trips_through_yaml(name, prompt, turns, weight, max_tokens):
    data = {"name": name, "prompt": prompt, "strategy": {"name": "refine", "max_turns": turns},
            "feedback": [{"kind": "compile", "weight": weight}], "budget": {"max_tokens": max_tokens}}
    if not prompt.strip():
        return
    task = Task.from_dict(data)
    again = Task.from_dict(yaml.safe_load(yaml.safe_dump(task.to_data())))
    assert again == task
    assert again.strategy.params["max_turns"] == turns
