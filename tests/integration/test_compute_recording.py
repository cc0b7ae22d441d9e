"""Compute as the field measures it, recorded per run with the real embedded model (issue 12, part 4)."""

from __future__ import annotations

import pytest
from helpers import FIZZ_TESTS

import agentloop
from agentloop import Task
from agentloop.metrics import run_metrics

pytestmark = pytest.mark.integration


def test_a_refine_run_records_nominal_and_evaluated_tokens_calls_seconds_and_flops(tmp_path):
    from llama_cpp import Llama

    from agentloop.models.llamacpp import default_model_path

    task = Task.from_dict({"name": "fizzbuzz", "entry_point": "fizzbuzz",
                           "prompt": "Write a Python function fizzbuzz(n) that returns 'Fizz' for multiples of 3, "
                                     "'Buzz' for multiples of 5, 'FizzBuzz' for both, else str(n).",
                           "feedback": [{"kind": "compile"}, {"kind": "tests", "code": FIZZ_TESTS}],
                           "strategy": {"name": "refine", "max_turns": 2},
                           "sampling": {"solver": {"max_tokens": 96, "temperature": 0},
                                        "critic": {"max_tokens": 48}, "refiner": {"max_tokens": 96}},
                           "models": {"default": "llamacpp:default"}})
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0)
    record, _, graph = agentloop.load_run(result.run_id, store=tmp_path / "s.db")
    m = run_metrics(graph, record["seconds"])
    turns = graph.turns()
    usage = graph.usage()
    assert m["tokens"] == usage.prompt_tokens + usage.completion_tokens
    assert m["model_calls"] == len(turns) >= 2
    assert m["wall_s"] == round(record["seconds"], 3) and m["wall_s"] > 0
    # the critic continues the solver's conversation: llama.cpp serves that prefix from its KV cache,
    # so fewer tokens are evaluated than the model was shown
    assert sum(t.usage.cached_tokens for t in turns[1:]) > 0
    assert m["evaluated_tokens"] == m["tokens"] - usage.cached_tokens < m["tokens"]
    llama = Llama(model_path=str(default_model_path()), n_ctx=256, verbose=False)  # kept: it owns the model
    params = llama._model.n_params()
    assert 100e6 < params < 200e6  # SmolLM2-135M
    assert m["flops"] == pytest.approx(2 * params * m["evaluated_tokens"])
