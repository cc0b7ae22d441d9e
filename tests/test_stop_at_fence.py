"""Generation stops where the first fenced code block closes (issue 12, part 2): llama.cpp and litellm alike,
without losing a reply that has no fence."""

from __future__ import annotations

import pytest
from faultserver import FaultServer, Ok

import agentloop
from agentloop import Task
from agentloop.core.parsing import close_fence, extract_code, first_block_closed
from agentloop.models import ModelPool, Request


@pytest.mark.parametrize(("text", "closed"), [
    ("```python\ndef f():\n    return 1\n```", True),
    ("Sure:\n```python\ndef f():\n    return 1\n```\nIt returns 1.", True),
    ("```\n```", True),
    ("```python\ndef f():\n    return 1\n", False),  # still inside the block
    ("```python\ndef f():\n    return '``'\n", False),  # backticks inside a line close nothing
    ("```python", False),  # the opening fence line is not even finished
    ("def f():\n    return 1\n", False),  # no fence at all: nothing to stop at
])
def test_first_block_closed(text, closed):
    assert first_block_closed(text) is closed


def test_close_fence_restores_what_a_stop_sequence_cut_and_leaves_the_rest_alone():
    cut = "Here:\n```python\ndef f():\n    return 1"
    assert close_fence(cut) == cut + "\n```" and extract_code(close_fence(cut)) == "def f():\n    return 1\n"
    for whole in ("def f():\n    return 1\n", "```python\nx = 1\n```\nmore"):
        assert close_fence(whole) == whole


async def test_litellm_asks_the_server_to_stop_after_the_block_and_restores_the_fence():
    pytest.importorskip("litellm", reason="needs agentloop[remote]")
    with FaultServer() as server:
        server.script(Ok(content="```python\ndef f():\n    return 1"), Ok(content="I would write f."))
        model = ModelPool().get(f"litellm:openai/fault?api_base={server.url}&api_key=none")
        messages = [{"role": "user", "content": "write f"}]
        coded = await model.complete(messages, Request(role="solver", max_tokens=64, stop_at_fence=True))
        prose = await model.complete(messages, Request(role="solver", max_tokens=64, stop_at_fence=True))
        await model.complete(messages, Request(role="critic", max_tokens=64))
        sent = server.requests
    assert sent[0]["stop"] == ["\n```\n"] and "stop" not in sent[2]
    assert coded.text == "```python\ndef f():\n    return 1\n```"
    assert prose.text == "I would write f."  # a reply without a fence is kept whole


def test_only_code_writing_turns_ask_to_stop_at_the_fence(tmp_path):
    pytest.importorskip("litellm", reason="needs agentloop[remote]")
    wrong = Ok(content="```python\ndef double(x):\n    return x\n```")
    with FaultServer() as server:
        server.script(wrong, Ok(content="It returns x, not 2 * x."), wrong, Ok(content="hi"))
        uri = f"litellm:openai/fault?api_base={server.url}&api_key=none"
        task = Task.from_dict({"name": "d", "prompt": "Write double(x).", "entry_point": "double",
                               "feedback": [{"kind": "tests", "code": "from solution import double\n"
                                                                      "def test_it(): assert double(3) == 6\n"}],
                               "strategy": {"name": "refine", "max_turns": 2}, "models": {"default": uri}})
        agentloop.run(task, store=tmp_path / "s.db")
        text_task = Task.from_dict({"name": "t", "prompt": "Say hi.", "output": "text", "feedback": [],
                                    "strategy": {"name": "refine", "max_turns": 1}, "models": {"default": uri}})
        agentloop.run(text_task, store=tmp_path / "s.db")
        sent = server.requests
    # solver and refiner write code; the critic's prose and a text task's whole reply are never cut
    assert ["stop" in body for body in sent] == [True, False, True, False]
