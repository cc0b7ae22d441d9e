"""litellm against a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's own), never the internet."""

from __future__ import annotations

import pytest

import agentloop
from agentloop import Task
from agentloop.errors import ModelError
from agentloop.models import ModelPool, Request

pytestmark = pytest.mark.integration
pytest.importorskip("litellm", reason="needs agentloop[remote]")

ADD_TESTS = "from solution import add\ndef test_add(): assert add(2, 3) == 5\n"


def test_a_full_task_runs_through_litellm(openai_server, tmp_path):
    uri = f"litellm:openai/smollm2?api_base={openai_server}&api_key=none"
    task = Task.from_dict({"name": "add", "prompt": "Write a Python function add(a, b) that returns the sum of a and b.",
                           "entry_point": "add", "feedback": [{"kind": "compile"}, {"kind": "tests", "code": ADD_TESTS}],
                           "strategy": {"name": "refine", "max_turns": 2}})
    result = agentloop.run(task, uri, store=tmp_path / "s.db", seed=0)
    assert result.status in ("solved", "unsolved"), result.error
    first = result.graph.turns()[0]
    assert first.model == uri and first.output.strip()
    assert first.usage.prompt_tokens > 30 and first.usage.completion_tokens > 0


async def test_a_server_that_is_down_is_a_classified_model_error():
    model = ModelPool().get("litellm:openai/x?api_base=http://127.0.0.1:9/v1&api_key=none")
    with pytest.raises(ModelError, match="litellm:openai/x"):
        await model.complete([{"role": "user", "content": "hi"}], Request(role="solver", max_tokens=4, timeout_s=20))
