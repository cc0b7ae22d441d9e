"""The shortcuts that cut the runtime's CPU per turn (bench/p1_runtime_cpu.py) give the same answers.

Scripted-model files and prompt templates are now cached across runs, the graph keeps its order
and token total as turns arrive, and prompts are hashed without JSON: each test below checks the
behaviour a user relies on still holds with the cache or shortcut in place.
"""

from __future__ import annotations

import asyncio
import os

from hypothesis import given, settings
from hypothesis import strategies as st
from test_graph_store import make_turn

import agentloop
from agentloop import Task, TurnGraph
from agentloop.engine.prompting import prompt_hash
from agentloop.models import ModelPool, Request
from agentloop.models.base import Usage


def test_an_edited_script_file_is_read_again(tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text("- first\n")
    model = ModelPool().get(f"scripted:{script}")
    script.write_text("- second\n")  # same size, within the same clock tick: only the text differs
    again = ModelPool().get(f"scripted:{script}")
    request = Request(role="solver", max_tokens=8)
    assert asyncio.run(model.complete([], request)).text == "first"
    assert asyncio.run(again.complete([], request)).text == "second"


def test_models_from_one_cached_script_each_start_at_its_first_reply(tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text("- one\n- two\n")
    first, second = ModelPool().get(f"scripted:{script}"), ModelPool().get(f"scripted:{script}")
    request = Request(role="solver", max_tokens=8)
    assert [asyncio.run(first.complete([], request)).text for _ in range(2)] == ["one", "two"]
    assert asyncio.run(second.complete([], request)).text == "one"  # the first one consumed its own copy


def test_an_edited_prompt_template_is_used_by_the_next_run(tmp_path):
    (tmp_path / "prompts").mkdir()
    template = tmp_path / "prompts" / "solver.j2"
    script = tmp_path / "s.yaml"
    script.write_text("- \"```python\\nx = 1\\n```\"\n")
    (tmp_path / "task.yaml").write_text(f"name: t\nprompt: p\nfeedback: []\nmodels: {{default: 'scripted:{script}'}}\n"
                                        "strategy: {name: refine, max_turns: 1}\n")
    seen = []
    for word in ("alpha", "beta"):
        template.write_text("{% block user %}" + word + "{% endblock %}")
        stamp = os.stat(template).st_mtime_ns + (1 if word == "beta" else 0) * 1_000_000_000
        os.utime(template, ns=(stamp, stamp))  # jinja2 reloads on a changed mtime; make sure it changed
        result = agentloop.run(Task.from_yaml(tmp_path / "task.yaml"), store=tmp_path / "runs.db")
        seen.append(result.graph.turns()[0].messages[-1]["content"])
    assert seen == ["alpha", "beta"]


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(1, 9)))
def test_turns_finishing_out_of_order_are_listed_by_seq_and_counted_once(order):
    graph = TurnGraph()
    graph.add(make_turn(1, score=0.5))
    for seq in [s for s in order if s != 1]:  # concurrent samples finish in any order
        graph.add(make_turn(seq, parents=["t1"], score=0.1))
    assert [t.seq for t in graph.turns()] == list(range(1, 9))
    assert graph.usage() == sum((t.usage for t in graph.turns()), Usage())
    graph.add(make_turn(3, parents=["t1"], score=0.9))  # a turn given again replaces the old one
    assert len(graph.turns()) == 8 and graph.best().seq == 3
    assert graph.usage().prompt_tokens == sum(range(1, 9))


def test_prompt_hash_tells_apart_conversations_that_only_split_differently():
    same = [{"role": "user", "content": "ab"}, {"role": "assistant", "content": "c"}]
    assert prompt_hash(same) == prompt_hash([dict(m) for m in same])
    assert prompt_hash(same) != prompt_hash([{"role": "user", "content": "a"}, {"role": "assistant", "content": "bc"}])
    assert prompt_hash(same) != prompt_hash([{"role": "user", "content": "ab"}, {"role": "user", "content": "c"}])
    # where plain concatenation would collide ("userx" both times)
    assert prompt_hash([{"role": "user", "content": "x"}]) != prompt_hash([{"role": "use", "content": "rx"}])
