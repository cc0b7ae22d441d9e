"""OpenTelemetry spans: run → turn → model call / check, with tokens, cost, role, model and verdicts.

Each run happens in its own interpreter: OpenTelemetry's tracer provider is process-global and
can be set once, and the absent case must not find the package that this environment has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from faultserver import FaultServer, Ok
from helpers import BAD_FIZZ, FIZZ_HIDDEN, FIZZ_TESTS, GOOD_FIZZ

pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk (the test extra)")

TASK = {"name": "fizzbuzz", "prompt": "Write fizzbuzz(n).", "entry_point": "fizzbuzz",
        "feedback": [{"kind": "compile"}, {"kind": "tests", "code": FIZZ_TESTS}], "hidden_tests": FIZZ_HIDDEN,
        "strategy": {"name": "refine", "max_turns": 2}}

TRACED = textwrap.dedent("""\
    import json, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    import agentloop
    config = json.loads(sys.argv[1])
    task = agentloop.Task.from_dict(config["task"])
    models = {"default": config["solver"], "critic": agentloop.ScriptedModel(["5 must give Buzz"]),
              "refiner": agentloop.ScriptedModel([config["good"]])}
    result = agentloop.run(task, models, store=config["store"])
    spans = [{"name": s.name, "id": s.context.span_id, "parent": s.parent.span_id if s.parent else None,
              "attributes": dict(s.attributes), "status": [s.status.status_code.name, s.status.description],
              "events": [[e.name, dict(e.attributes or {})] for e in s.events]} for s in exporter.get_finished_spans()]
    print(json.dumps({"status": result.status, "prompt": result.tokens.prompt_tokens, "spans": spans}))
    """)

ABSENT = textwrap.dedent("""\
    import importlib.abc, json, sys

    class NoTelemetry(importlib.abc.MetaPathFinder):  # as if opentelemetry were not installed
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}")

    sys.meta_path.insert(0, NoTelemetry())
    import agentloop
    from agentloop.core import telemetry
    config = json.loads(sys.argv[1])
    model = agentloop.ScriptedModel({"solver": [config["bad"]], "critic": ["c"], "refiner": [config["good"]]})
    result = agentloop.run(agentloop.Task.from_dict(config["task"]), model, store=config["store"])
    print(json.dumps({"status": result.status, "enabled": telemetry.enabled(),
                      "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))
    """)


def _python(script: str, config: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(config)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_run_is_a_span_tree_with_tokens_cost_roles_and_verdicts(tmp_path):
    with FaultServer() as server:  # the solver is a priced model behind a real OpenAI-compatible server
        server.script(Ok(content=BAD_FIZZ, prompt_tokens=1000, completion_tokens=500))
        solver = f"litellm:openai/gpt-4o-mini?api_base={server.url}&api_key=sk-secret-7731"
        out = _python(TRACED, {"task": TASK, "solver": solver, "good": GOOD_FIZZ, "store": str(tmp_path / "s.db")})
    assert out["status"] == "solved"
    spans = out["spans"]
    assert "sk-secret-7731" not in json.dumps(spans) and server.url not in json.dumps(spans)  # the query never leaves
    by_id = {s["id"]: s for s in spans}

    def children(span, name):
        return [s for s in spans if s["parent"] == span["id"] and s["name"] == name]

    [run] = [s for s in spans if s["parent"] is None]
    assert run["name"] == "agentloop.run"
    assert run["attributes"]["agentloop.task"] == "fizzbuzz" and run["attributes"]["agentloop.strategy"] == "refine"
    assert run["attributes"]["agentloop.status"] == "solved" and run["attributes"]["agentloop.turns"] == 3
    assert run["attributes"]["gen_ai.usage.input_tokens"] == out["prompt"]
    turns = children(run, "agentloop.turn")
    [hidden] = children(run, "agentloop.hidden_tests")  # the submission's hidden tests: not one of a turn's checks
    assert hidden["attributes"]["agentloop.hidden_tests.passed"] is True
    assert [c["attributes"]["agentloop.check.kind"] for c in children(hidden, "agentloop.check")] == ["tests"]
    assert [t["attributes"]["agentloop.role"] for t in turns] == ["solver", "critic", "refiner"]
    assert all(by_id[s["parent"]]["name"] in ("agentloop.turn", "agentloop.hidden_tests") for s in spans
               if s["name"] in ("agentloop.model_call", "agentloop.check"))
    [call] = children(turns[0], "agentloop.model_call")
    attrs = call["attributes"]
    assert attrs["gen_ai.request.model"] == "litellm:openai/gpt-4o-mini" and attrs["agentloop.role"] == "solver"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1000, 500)
    assert attrs["agentloop.cost_usd"] == pytest.approx(1000 * 0.15e-6 + 500 * 0.6e-6)
    assert turns[0]["attributes"]["agentloop.cost_usd"] == attrs["agentloop.cost_usd"]
    [critic_call] = children(turns[1], "agentloop.model_call")
    assert "agentloop.cost_usd" not in critic_call["attributes"]  # an unpriced model has no cost, not a zero one
    assert children(turns[1], "agentloop.check") == []  # a critic writes no code: nothing is checked
    verdicts = [[(c["attributes"]["agentloop.check.kind"], c["attributes"]["agentloop.check.passed"])
                 for c in children(t, "agentloop.check")] for t in (turns[0], turns[2])]
    assert verdicts == [[("compile", True), ("tests", False)], [("compile", True), ("tests", True)]]
    assert turns[0]["attributes"]["agentloop.passed"] is False and turns[2]["attributes"]["agentloop.passed"] is True


def test_without_opentelemetry_nothing_is_imported_and_runs_work(tmp_path):
    out = _python(ABSENT, {"task": TASK, "bad": BAD_FIZZ, "good": GOOD_FIZZ, "store": str(tmp_path / "s.db")})
    assert out == {"status": "solved", "enabled": False, "loaded": []}


def test_a_failed_model_call_leaves_no_key_address_or_message_in_any_span(tmp_path):
    # the model error's message starts with the full URI (api_key and server included): spans record its type only
    solver = "litellm:openai/gpt-4o-mini?api_base=http://127.0.0.1:9/v1&api_key=sk-secret-7731&attempts=1"
    out = _python(TRACED, {"task": TASK, "solver": solver, "good": GOOD_FIZZ, "store": str(tmp_path / "s.db")})
    assert out["status"] == "error"
    dumped = json.dumps(out["spans"])
    assert "sk-secret-7731" not in dumped and "127.0.0.1:9" not in dumped
    [call] = [s for s in out["spans"] if s["name"] == "agentloop.model_call"]
    assert call["status"] == ["ERROR", "ModelError"] and call["attributes"]["error.type"] == "ModelError"
    assert call["events"] == []  # no exception event: its message and stack would carry the URI
