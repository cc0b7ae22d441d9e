"""The library call with in-memory models per role: ``agentloop.run(task, {"default": ..., ROLE: URI or model})``."""

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
    result = agentloop.run(task, {"default": solver, "critic": critic, "refiner": refiner}, store=tmp_path / "s.db")
    assert result.status == "solved"
    assert [(t.role, t.model) for t in result.graph.turns()] == [
        ("solver", solver.uri), ("critic", critic.uri), ("refiner", refiner.uri)]


def test_uris_and_model_objects_mix(tmp_path):
    (tmp_path / "critic.yaml").write_text(yaml.safe_dump(["5 must give Buzz"]))
    solver, refiner = agentloop.ScriptedModel([BAD_FIZZ]), agentloop.ScriptedModel([GOOD_FIZZ])
    result = agentloop.run(agentloop.Task.from_dict(TASK),
                           {"default": solver, "critic": f"scripted:{tmp_path / 'critic.yaml'}", "refiner": refiner},
                           store=tmp_path / "s.db")
    assert result.status == "solved"
    models = [t.model for t in result.graph.turns()]
    assert models[0] == solver.uri and models[1] == f"scripted:{tmp_path / 'critic.yaml'}" and models[2] == refiner.uri


def test_a_misspelt_role_or_a_missing_file_is_an_error_that_writes_nothing(tmp_path):
    task = agentloop.Task.from_dict(TASK)
    store = tmp_path / "s.db"
    model = agentloop.ScriptedModel([GOOD_FIZZ])
    with pytest.raises(ValueError, match="unknown role 'critc'"):  # silently unused before: the critic kept its model
        agentloop.run(task, {"default": model, "critc": agentloop.ScriptedModel(["x"])}, store=store)
    with pytest.raises(agentloop.InputError, match="file not found"):
        agentloop.run(task, {"default": model, "critic": "scripted:missing.yaml"}, store=store)
    assert not store.exists()
