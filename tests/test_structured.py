"""Structured replies: validation, exactly one re-ask, then an error value (never an exception)."""

from __future__ import annotations

import pytest
import yaml
from pydantic import BaseModel, Field

from agentloop.engine.structured import complete_structured, parse_reply
from agentloop.models import ModelPool, Request


class Verdict(BaseModel):
    passed: bool
    score: float = Field(ge=0, le=1)
    rationale: str


def scripted(tmp_path, replies):
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump({"judge": replies}))
    return ModelPool().get(f"scripted:{path}")


def test_parse_accepts_fenced_json_and_names_the_bad_field():
    assert parse_reply('```json\n{"passed": true, "score": 1, "rationale": "ok"}\n```', Verdict).passed
    with pytest.raises(ValueError, match="score"):
        parse_reply('{"passed": true, "score": 7, "rationale": "x"}', Verdict)


async def test_valid_reply_takes_one_call(tmp_path):
    model = scripted(tmp_path, ['{"passed": false, "score": 0.25, "rationale": "misses 5"}'])
    out = await complete_structured(model, [{"role": "user", "content": "judge"}], Request(role="judge"), Verdict)
    assert out.value == Verdict(passed=False, score=0.25, rationale="misses 5") and len(out.completions) == 1


async def test_invalid_reply_gets_one_reask_quoting_the_error(tmp_path):
    model = scripted(tmp_path, ['{"passed": true, "score": "high"', '{"passed": true, "score": 0.9, "rationale": "r"}'])
    messages = [{"role": "user", "content": "judge"}]
    out = await complete_structured(model, messages, Request(role="judge"), Verdict)
    assert out.value.score == 0.9 and len(out.completions) == 2 and out.error is None


async def test_two_invalid_replies_become_an_error_value(tmp_path):
    model = scripted(tmp_path, ["not json", '{"passed": 1}', "never asked"])
    out = await complete_structured(model, [{"role": "user", "content": "judge"}], Request(role="judge"), Verdict)
    assert out.value is None and len(out.completions) == 2
    assert out.error.startswith("invalid structured reply after one re-ask")


@pytest.mark.integration
async def test_llamacpp_grammar_makes_even_the_tiny_model_return_valid_json():
    pytest.importorskip("llama_cpp")
    model = ModelPool().get("llamacpp:default")
    messages = [{"role": "user", "content": "Does `def add(a, b): return a - b` add two numbers? Give a verdict."}]
    for seed in range(3):
        out = await complete_structured(model, messages, Request(role="judge", max_tokens=120, seed=seed), Verdict)
        assert out.error is None and len(out.completions) == 1, out
        assert 0 <= out.value.score <= 1
