"""The litellm backend against a fault-injecting OpenAI-compatible server on 127.0.0.1.

Each behaviour states the exact number of HTTP attempts and an upper bound on elapsed time.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from faultserver import BadJson, ContextLength, Drip, FaultServer, Ok, Oversized, Reset, Silence, Status, Truncated

from agentloop.errors import ModelError
from agentloop.models import ModelPool, Request

pytest.importorskip("litellm", reason="needs agentloop[remote]")
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


def model(server, **params):
    query = "&".join(f"{k}={v}" for k, v in {"api_base": server.url, "api_key": "none", **params}.items())
    return ModelPool().get(f"litellm:openai/fault?{query}")


async def call(m, timeout_s=20.0, **kw):
    started = time.monotonic()
    try:
        reply = await m.complete(MESSAGES, Request(role="solver", max_tokens=16, timeout_s=timeout_s, **kw))
        return reply, time.monotonic() - started
    except ModelError as exc:
        return exc, time.monotonic() - started


async def test_ok_reply_carries_text_and_usage(server):
    server.script(Ok(content="pong", prompt_tokens=12, completion_tokens=3))
    reply, _ = await call(model(server), seed=3)
    assert reply.text == "pong" and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 3)
    assert server.attempts == 1
    assert server.requests[0]["seed"] == 3 and server.requests[0]["max_tokens"] == 16


async def test_429_honours_retry_after(server):
    server.script(Status(429, retry_after=1), Ok())
    reply, elapsed = await call(model(server))
    assert reply.text == "Hello" and server.attempts == 2
    gap = server.requests[1]["_t"] - server.requests[0]["_t"]
    assert 1.0 <= gap < 2.5 and elapsed < 4


async def test_500_k_times_then_200_is_retried_k_times(server):
    server.script(Status(500), Status(502), Status(503), Ok())
    reply, elapsed = await call(model(server, attempts=4))
    assert reply.text == "Hello" and server.attempts == 4 and elapsed < 10


async def test_attempts_are_bounded(server):
    server.script(*[Status(500)] * 10)
    err, elapsed = await call(model(server, attempts=3))
    assert isinstance(err, ModelError) and "after 3 attempt(s)" in str(err)
    assert server.attempts == 3 and elapsed < 8


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504, 529])
async def test_every_transient_status_is_retried(server, code):
    # each reaches the client as a different litellm type (or its catch-all APIError): none may be missed
    server.script(Status(code), Ok(content="second try"))
    reply, elapsed = await call(model(server))
    assert reply.text == "second try" and server.attempts == 2 and elapsed < 5


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
async def test_client_errors_are_never_retried(server, code):
    server.script(Status(code), Ok())
    err, elapsed = await call(model(server))
    assert isinstance(err, ModelError) and server.attempts == 1 and elapsed < 3


async def test_context_length_is_not_retried_and_goes_to_the_fallback(server):
    server.script(ContextLength(), Ok(content="from fallback"))
    err, _ = await call(model(server))
    assert isinstance(err, ModelError) and "longer than the model's context" in str(err) and server.attempts == 1
    server.script(ContextLength(), Ok(content="from fallback"))
    reply, _ = await call(model(server, fallback="openai/bigger"))
    assert reply.text == "from fallback" and server.attempts == 3
    assert server.requests[-1]["model"] == "bigger"


async def test_accept_then_silence_stops_at_the_deadline(server):
    server.script(Silence(), Ok())
    err, elapsed = await call(model(server), timeout_s=1.5)
    assert isinstance(err, ModelError) and "no reply within 1.5 s" in str(err)
    assert server.attempts == 1 and elapsed < 1.5 + 1.0


async def test_drip_fed_reply_cannot_outlive_the_deadline(server):
    server.script(Drip(interval=0.5), Ok())
    err, elapsed = await call(model(server), timeout_s=2.0)
    assert isinstance(err, ModelError) and "no reply within" in str(err)
    assert server.attempts == 1 and elapsed < 2.0 + 1.0


async def test_truncated_and_invalid_json_get_exactly_one_reask(server):
    server.script(BadJson(), Ok(content="second try"))
    reply, _ = await call(model(server))
    assert reply.text == "second try" and server.attempts == 2
    server.script(BadJson(), BadJson(), Ok())
    err, _ = await call(model(server))
    assert isinstance(err, ModelError) and server.attempts == 4  # 2 more: the re-ask, then give up
    server.script(Truncated(), Ok(content="after truncation"))
    reply, elapsed = await call(model(server))
    assert reply.text == "after truncation" and server.attempts == 6 and elapsed < 5


async def test_connection_reset_is_retried(server):
    server.script(Reset(), Ok(content="after reset"))
    reply, elapsed = await call(model(server))
    assert reply.text == "after reset" and server.attempts == 2 and elapsed < 5


async def test_oversized_body_is_read_within_the_deadline(server):
    server.script(Oversized(megabytes=8))
    reply, elapsed = await call(model(server), timeout_s=30)
    assert not isinstance(reply, ModelError) and len(reply.text) == 8 << 20 and server.attempts == 1


async def test_server_down_is_classified_after_bounded_attempts():
    m = ModelPool().get("litellm:openai/x?api_base=http://127.0.0.1:9/v1&api_key=none&attempts=2")
    err, elapsed = await call(m)
    assert isinstance(err, ModelError) and "after 2 attempt(s)" in str(err) and elapsed < 10


async def test_concurrency_cap_limits_calls_in_flight(server):
    server.script(*[Drip(interval=0.05, chunk=64)] * 6)
    m = model(server, concurrency=2)
    await asyncio.gather(*(call(m) for _ in range(6)))
    starts = sorted(r["_t"] for r in server.requests)
    # with 2 in flight, the 3rd request cannot start before one of the first two has finished
    assert starts[2] - starts[0] >= 0.15


async def test_cost_comes_from_the_bundled_price_table(server):
    server.script(Ok(prompt_tokens=1000, completion_tokens=500))
    m = ModelPool().get(f"litellm:openai/gpt-4o-mini?api_base={server.url}&api_key=none")
    reply, _ = await call(m)
    assert reply.usage.cost_usd == pytest.approx(1000 * 0.15e-6 + 500 * 0.6e-6)
    server.script(Ok())
    reply, _ = await call(model(server))
    assert reply.usage.cost_usd is None  # a model missing from the table has no price, not a wrong one


async def test_a_model_missing_from_the_price_table_prints_nothing(server, capfd):
    # litellm prints a banner on stdout when asked to price a model name it cannot place (what an
    # OpenAI-compatible server reports): `agentloop run --json` must still print one JSON object
    server.script(Ok(), Ok())
    for _ in range(2):
        reply, _ = await call(model(server))
        assert reply.text == "Hello" and reply.usage.cost_usd is None
    assert capfd.readouterr().out == ""


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_no_connection_leaks_over_many_calls(server):
    m = model(server)
    for _ in range(20):  # warm up: litellm's client cache, imports, the thread pool
        await call(m)
    before = open_fds()
    for _ in range(1000):
        await m.complete(MESSAGES, Request(role="solver", max_tokens=4, timeout_s=20))
    after_sequential = open_fds()
    await asyncio.gather(*(m.complete(MESSAGES, Request(role="solver", max_tokens=4, timeout_s=60)) for _ in range(200)))
    await asyncio.sleep(0.5)
    after_concurrent = open_fds()
    assert server.attempts == 20 + 1200
    assert after_sequential - before <= 5 and after_concurrent - before <= 5, (before, after_sequential, after_concurrent)


async def test_a_run_sends_per_role_temperature_and_per_turn_seed(server, tmp_path):
    import agentloop
    from agentloop import Task

    bad = "```python\ndef f(x):\n    return 0\n```"
    server.script(Ok(content=bad), Ok(content="the critique"), Ok(content=bad))
    task = Task.from_dict({"name": "t", "prompt": "write f", "entry_point": "f",
                           "feedback": [{"kind": "tests", "code": "from solution import f\ndef test(): assert f(1) == 1\n"}],
                           "strategy": {"name": "refine", "max_turns": 2},
                           "sampling": {"critic": {"temperature": 0.9, "max_tokens": 99}}})
    result = await agentloop.arun(task, f"litellm:openai/fault?api_base={server.url}&api_key=none",
                                  store=tmp_path / "s.db", seed=40)
    assert result.status == "unsolved" and server.attempts == 3
    solver, critic, refiner = server.requests
    assert (solver["temperature"], critic["temperature"], refiner["temperature"]) == (0.2, 0.9, 0.2)
    assert critic["max_tokens"] == 99
    assert (solver["seed"], critic["seed"], refiner["seed"]) == (41, 42, 43)


async def test_pacer_spaces_starts_to_the_rate_limit():
    from agentloop.models.litellm import Pacer

    pacer = Pacer(rpm=2, window_s=0.4)
    started = time.monotonic()
    stamps = []
    for _ in range(5):
        await pacer.wait()
        stamps.append(time.monotonic() - started)
    assert stamps[1] < 0.1 and stamps[2] >= 0.4 and stamps[4] >= 0.8  # at most 2 starts per 0.4 s window


async def test_a_local_server_needs_no_api_key(server, monkeypatch):
    """`litellm:openai/NAME?api_base=…` as docs/models.md documents it, with OPENAI_API_KEY unset."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.script(Ok(content="keyless"))
    reply, _ = await call(ModelPool().get(f"litellm:openai/fault?api_base={server.url}"))
    assert not isinstance(reply, ModelError), reply
    assert reply.text == "keyless" and server.attempts == 1


async def test_token_logprobs_are_asked_for_and_become_the_turns_confidence(server):
    steps = ((-0.1, (-0.1, -2.5, -4.0)), (-1.2, (-0.9, -1.2, -1.5)))
    server.script(Ok(content="pong", logprobs=steps), Ok(content="pong"))
    reply, _ = await call(model(server, logprobs=3))
    assert server.requests[0]["logprobs"] is True and server.requests[0]["top_logprobs"] == 3
    c = reply.confidence
    assert c.tokens == 2 and abs(c.mean_logprob - (-0.65)) < 1e-9 and c.self_certainty is None  # no full distribution
    assert abs(c.lowest_group - (2.2 + 1.2) / 2) < 1e-6 and c.top_k == 3
    reply, _ = await call(model(server, logprobs=3))  # a provider that sends none: no measure, no error
    assert reply.text == "pong" and reply.confidence is None
    server.script(Ok(content="pong", logprobs=steps))
    reply, _ = await call(model(server))  # not asked: not sent, not read
    assert "logprobs" not in server.requests[-1] and reply.confidence is None
