"""Progress events: typed records in the code, the same plain dicts at the sink (``on_event``, the CLI's lines)."""

from __future__ import annotations

import pytest
import yaml

import agentloop
from agentloop import Task
from agentloop.engine.events import build
from agentloop.views.showing import format_event

WRONG = "```python\ndef f():\n    return 1\n```"
RIGHT = "```python\ndef f():\n    return 2\n```"


def test_a_sink_gets_each_event_as_a_plain_dict_in_order_across_a_resume(tmp_path):
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"solver": [WRONG], "critic": ["f must return 2"]}))  # no refiner reply yet
    task = Task.from_dict({"name": "two", "prompt": "Write f() returning 2.", "entry_point": "f",
                           "models": {"default": f"scripted:{script}"},
                           "feedback": [{"kind": "tests", "code": "from solution import f\ndef test(): assert f() == 2\n"}],
                           "strategy": {"name": "refine", "max_turns": 3}})
    events: list[dict] = []
    first = agentloop.run(task, store=tmp_path / "s.db", on_event=events.append)
    rid = first.run_id
    tokens = [t.usage.total for t in first.graph.turns()]
    assert first.status == "error"
    assert events[:3] == [
        {"event": "start", "run_id": rid, "task": "two", "resumed": False},
        {"event": "turn", "run_id": rid, "turn": "t1", "role": "solver", "score": 0.0, "passed": False,
         "verdicts": [("tests", False)], "tokens": tokens[0]},
        {"event": "turn", "run_id": rid, "turn": "t2", "role": "critic", "score": None, "passed": False,
         "verdicts": [], "tokens": tokens[1]},
    ]
    assert list(events[0]) == ["event", "run_id", "task", "resumed"]  # key order too: printed sinks see it
    assert events[-1] == {"event": "end", "run_id": rid, "status": "error", "stop_reason": "error", "error": first.error}

    script.write_text(yaml.safe_dump({"solver": [WRONG], "critic": ["f must return 2"], "refiner": [RIGHT]}))
    events.clear()
    second = agentloop.resume(rid, store=tmp_path / "s.db", on_event=events.append)
    assert second.status == "solved"
    assert [(e["event"], e.get("turn"), e.get("resumed")) for e in events] == [
        ("start", None, True), ("replayed", "t1", None), ("replayed", "t2", None), ("turn", "t3", None), ("end", None, None)]
    assert events[1] == {"event": "replayed", "run_id": rid, "turn": "t1", "role": "solver"}
    assert events[3]["verdicts"] == [("tests", True)] and events[3]["passed"] is True
    assert [format_event(e) for e in events][-1] == f"[{rid}] solved (solved)"
    assert type(events[-1]["status"]) is str  # plain data at the sink, not the enum member


def test_an_event_with_a_wrong_field_fails_where_it_is_emitted():
    assert build("warning", "r1", message="m").to_dict() == {"event": "warning", "run_id": "r1", "message": "m"}
    with pytest.raises(TypeError):
        build("turn", "r1", turn="t1", role="solver")  # score, passed, verdicts, tokens missing
    with pytest.raises(TypeError, match="unknown event"):
        build("finish", "r1")
