"""Wrapping an existing LLM call: a plain function, a model string, validators, tests, the decorator."""

from __future__ import annotations

import pytest
import yaml
from helpers import BAD_FIZZ, FIZZ_TESTS, GOOD_FIZZ

import agentloop


def test_a_plain_async_function_is_refined_until_the_tests_pass():
    replies = iter([BAD_FIZZ, "fizzbuzz(5) must be Buzz", GOOD_FIZZ])
    prompts = []

    async def my_llm(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    result = agentloop.refine(my_llm, "Write fizzbuzz(n).", tests=FIZZ_TESTS)
    assert result.status == "solved" and "FizzBuzz" in result.solution
    assert [t.role for t in result.graph.turns()] == ["solver", "critic", "refiner"]
    assert "assert '5' == 'Buzz'" in prompts[1]  # the real test failure reached the wrapped call


def test_validators_check_text_outputs_and_their_messages_drive_the_refinement():
    replies = iter(["Paris is the capital.", "too long", "Paris"])
    seen = []

    def llm(prompt: str) -> str:  # a sync function works too
        seen.append(prompt)
        return next(replies)

    def one_word(text: str):
        return True if len(text.split()) == 1 else "answer with exactly one word"

    result = agentloop.refine(llm, "What is the capital of France?", validators=[one_word])
    assert result.status == "solved" and result.solution == "Paris"
    assert "answer with exactly one word" in seen[1]
    assert result.graph.turns()[0].feedback[0].kind == "validator:one_word"


def test_a_validator_that_raises_rejects_without_crashing():
    def strict(text: str):
        raise ValueError("not JSON")

    result = agentloop.refine(lambda p: "x", "anything", validators=[strict], max_turns=1)
    assert result.status == "unsolved" and "ValueError: not JSON" in result.graph.turns()[0].feedback[0].summary


async def test_decorator_form():
    calls = []

    @agentloop.refined(tests=FIZZ_TESTS, max_turns=2)
    async def generate(prompt: str) -> str:
        calls.append(prompt)
        return GOOD_FIZZ

    result = await generate("Write fizzbuzz(n).")
    assert result.solved and len(calls) == 1


def test_model_strings_and_checks_are_required(tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text(yaml.safe_dump([GOOD_FIZZ]))
    assert agentloop.refine(f"scripted:{script}", "Write fizzbuzz(n).", tests=FIZZ_TESTS).solved
    with pytest.raises(ValueError, match="tests and/or validators"):
        agentloop.refine(f"scripted:{script}", "x")
    with pytest.raises(agentloop.InputError):
        agentloop.refine("nosuchscheme:x?y=1&atempts=2", "x", validators=[bool])


def test_two_lambdas_are_two_models():
    result = agentloop.refine(lambda p: "```python\ndef f():\n    return 1\n```", "write f",
                              critic=lambda p: "CRITIC-SAYS", tests="from solution import f\ndef test(): assert f() == 2\n",
                              entry_point="f", max_turns=2)
    assert result.graph.turns()[1].output == "CRITIC-SAYS"
