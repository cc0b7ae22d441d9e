"""Exact token budgets: a call's prompt is counted before it is made and its completion capped, so no
run spends more than ``budget.max_tokens``, concurrent calls included — for every strategy."""

from __future__ import annotations

import pytest
import yaml

import agentloop
from agentloop import Task
from agentloop.engine.budget import BudgetExhausted, TokenMeter
from agentloop.models import Request

# wrong forever, and long: every strategy keeps spending until the budget stops it
WRONG = "Here is my solution, carefully reasoned step by step.\n```python\ndef double(x):\n" + \
        "".join(f"    y{i} = x + {i}  # an intermediate value nobody needs\n" for i in range(12)) + \
        "    return x + 2\n```"
TESTS = "```python\nfrom solution import double\n\ndef test_double():\n    assert double(3) == 6\n```"

STRATEGIES = [
    {"name": "best_of_n", "n": 64, "temperature": 0.8},  # 64 concurrent samples draw from one budget
    {"name": "refine", "max_turns": 40},
    {"name": "reflexion", "max_attempts": 40},
    {"name": "tree", "mode": "beam", "initial": 4, "width": 3, "depth": 8, "beam": 2},
    {"name": "codet", "n": 16, "testers": 4},
    {"name": "magicore", "samples": 16},
    {"name": "evolve", "initial": 8, "children": 1000, "batch": 4},  # concurrent seeds and children
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=[s["name"] for s in STRATEGIES])
@pytest.mark.parametrize("limit", [1500, 3000])
def test_no_run_spends_more_than_its_token_budget(tmp_path, strategy, limit):
    replies = [TESTS if i % 7 == 6 else WRONG for i in range(400)]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(replies))
    task = Task.from_dict({"name": "double", "prompt": "Write double(x) returning 2 * x. " * 8, "entry_point": "double",
                           "feedback": [{"kind": "compile"}, {"kind": "tests", "code": "from solution import double\n"
                                                                                         "def test_it(): assert double(3) == 6\n"}],
                           "strategy": strategy, "budget": {"max_tokens": limit},
                           "models": {"default": "scripted:script.yaml"}}, base_dir=tmp_path)
    result = agentloop.run(task, store=tmp_path / "s.db", seed=0)
    assert result.status == "unsolved" and result.error is None
    spent = result.tokens.prompt_tokens + result.tokens.completion_tokens
    assert spent <= limit, f"{strategy['name']} spent {spent} of {limit}"
    assert result.stop_reason == "budget:max_tokens"
    assert result.turns >= 2 or strategy["name"] == "best_of_n"  # the budget was used, not refused at once


def test_the_meter_counts_the_prompt_and_holds_tokens_of_calls_in_flight():
    spent = {"tokens": 100}
    meter = TokenMeter(1000, lambda: spent["tokens"])
    first, held = meter.hold(Request(role="solver", max_tokens=768), prompt_tokens=300)
    assert first.max_tokens == 600 and held == 900  # 1000 - 100 spent - 300 prompt
    with pytest.raises(BudgetExhausted):
        meter.hold(Request(role="solver", max_tokens=768), prompt_tokens=50)  # 0 left while the first is in flight
    held = meter.settle(held, 300 + 200)  # the call used 500 tokens; its turn is not committed yet
    assert meter.hold(Request(role="solver", max_tokens=768), prompt_tokens=250)[0].max_tokens == 150
    meter.release(held)
    spent["tokens"] += 500  # committed: the graph counts it now
