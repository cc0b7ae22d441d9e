"""``arun``'s public options that ``wrap`` and the sweep build on: a model per role, validators, a shared pool."""

from __future__ import annotations

import pytest

import agentloop
from agentloop import ScriptedModel, Task


def text_task() -> Task:
    return Task.from_dict({"name": "greet", "prompt": "Greet the user.", "output": "text", "feedback": [],
                           "strategy": {"name": "refine", "max_turns": 3}})


def test_a_model_per_role_and_validators_drive_the_run(tmp_path):
    def polite(text: str) -> bool | str:
        return "please" in text or "say please"

    solver = ScriptedModel(["hi", "hi, please"])
    critic = ScriptedModel(["The reply must say please."])
    result = agentloop.run(text_task(), {"default": solver, "critic": critic}, store=tmp_path / "s.db",
                           validators=[polite])
    turns = result.graph.turns()
    assert [t.role for t in turns] == ["solver", "critic", "refiner"]
    assert turns[0].feedback[0].summary == "validator polite: say please" and not turns[0].passed
    assert turns[1].output == "The reply must say please." and turns[1].model == critic.uri
    assert result.solved and result.solution == "hi, please"


def test_a_model_per_role_needs_a_default(tmp_path):
    with pytest.raises(ValueError, match="'default' entry"):
        agentloop.run(text_task(), {"critic": ScriptedModel(["x"])}, store=tmp_path / "s.db")
    assert not (tmp_path / "s.db").exists()  # bad input writes nothing
