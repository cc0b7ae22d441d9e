"""The library call with per-role models: ``agentloop.run(task, models={role: URI or model object})``."""

from __future__ import annotations

import pytest
import yaml
from helpers import BAD_FIZZ, FIZZ_TESTS, GOOD_FIZZ

import agentloop

TASK = {"name": "fizzbuzz", "prompt": "Write fizzbuzz(n).", "entry_point": "fizzbuzz",
        "feedback": [{"kind": "tests", "code": FIZZ_TESTS}], "strategy": {"name": "refine", "max_turns": 2}}


def test_each_role_gets_its_own_in_memory_scripted_model(tmp_path):
    task = agentloop.Task.from_dict(TASK)
    solver, critic, refiner = (agentloop.ScriptedModel([BAD_FIZZ]), agentloop.ScriptedModel(["5 must give Buzz"]),
                               agentloop.ScriptedModel([GOOD_FIZZ]))
    result = agentloop.run(task, models={"solver": solver, "critic": critic, "refiner": refiner},
                           store=tmp_path / "s.db")
    assert result.status == "solved"
    assert [(t.role, t.model) for t in result.graph.turns()] == [
        ("solver", solver.uri), ("critic", critic.uri), ("refiner", refiner.uri)]


def test_models_set_some_roles_over_the_task_file_and_mix_uris_with_objects(tmp_path):
    (tmp_path / "critic.yaml").write_text(yaml.safe_dump(["5 must give Buzz"]))
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({**TASK, "models": {"default": "scripted:critic.yaml"}}))
    task = agentloop.Task.from_yaml(tmp_path / "task.yaml")
    (tmp_path / "refiner.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    solver = agentloop.ScriptedModel([BAD_FIZZ])
    result = agentloop.run(task, models={"solver": solver, "refiner": f"scripted:{tmp_path / 'refiner.yaml'}"},
                           store=tmp_path / "s.db")
    assert result.status == "solved"
    models = [t.model for t in result.graph.turns()]
    assert models[0] == solver.uri and models[1].endswith("critic.yaml") and models[2].endswith("refiner.yaml")


def test_bad_models_are_input_errors_and_write_nothing(tmp_path):
    task = agentloop.Task.from_dict(TASK)
    store = tmp_path / "s.db"
    with pytest.raises(agentloop.InputError, match="models: unknown role 'writer'"):
        agentloop.run(task, models={"writer": agentloop.ScriptedModel(["x"])}, store=store)
    with pytest.raises(agentloop.InputError, match="not both"):
        agentloop.run(task, agentloop.ScriptedModel(["x"]), models={"solver": "scripted:x.yaml"}, store=store)
    with pytest.raises(agentloop.InputError, match="models.critic: .*file not found"):
        agentloop.run(task, models={"critic": "scripted:missing.yaml"}, store=store)
    assert not store.exists()
