"""``litellm:MODEL[?api_base=URL&api_key=…&attempts=4&retry_s=90&concurrency=8&rpm=60&fallback=MODEL]``.

Any litellm model string, or an OpenAI-compatible server through ``openai/…`` and ``api_base``
(no key needed: without ``api_key`` or the provider's key variable, a placeholder is sent).
Exactly one retry layer (tenacity; litellm's and the OpenAI SDK's own retries are switched off),
bounded by ``attempts`` and ``retry_s``; the call's deadline is enforced from outside over all of
it, so a drip-fed reply cannot hang a run. ``concurrency`` caps calls in flight per model and
``rpm`` spaces them; a context-length error goes to ``fallback`` when one is set.

``Request.stop_below`` (DeepConf's online early stop) is ignored here: a provider's reply cannot be
ended mid-generation on its token probabilities, which arrive only with the finished reply.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import time
from typing import Any
from urllib.parse import parse_qsl

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay

from ..core.confidence import Confidence, from_top_logprobs
from ..core.parsing import FENCE_STOP, close_fence
from ..errors import ModelError, ModelURIError
from .base import Completion, Request, Usage, approx_tokens
from .retrying import MalformedReply, backoff_s, classify

_PARAMS = {"api_base": str, "api_key": str, "attempts": int, "retry_s": float, "concurrency": int, "rpm": int,
           "fallback": str, "logprobs": int}


def parse_spec(spec: str, uri: str) -> tuple[str, dict[str, Any]]:
    """The litellm model string and the typed query parameters of a ``litellm:`` URI."""
    model, _, query = spec.partition("?")
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _PARAMS:
            raise ModelURIError(f"{uri}: unknown parameter '{key}' (known: {', '.join(_PARAMS)})")
        try:
            params[key] = _PARAMS[key](value)
        except ValueError:
            raise ModelURIError(f"{uri}: {key} must be a {_PARAMS[key].__name__}") from None
        if _PARAMS[key] is not str and params[key] <= 0:
            raise ModelURIError(f"{uri}: {key} must be positive")
    if params.get("logprobs", 0) > 20:  # OpenAI's (and most compatible servers') limit on top_logprobs
        raise ModelURIError(f"{uri}: logprobs must be between 1 and 20")
    if not model:
        raise ModelURIError(f"{uri}: no model name")
    return model, params


class Pacer:
    """Spaces calls so that no more than ``rpm`` start in any ``window_s`` (60 s) window."""

    def __init__(self, rpm: int | None, window_s: float = 60.0) -> None:
        self.rpm, self.window_s = rpm, window_s
        self.starts: collections.deque[float] = collections.deque()

    async def wait(self) -> None:
        """Return when one more call may start."""
        if not self.rpm:
            return
        while len(self.starts) >= self.rpm:
            delay = self.starts[0] + self.window_s - time.monotonic()
            if delay <= 0:
                self.starts.popleft()
            else:
                await asyncio.sleep(delay)
        self.starts.append(time.monotonic())


class LiteLLMModel:
    """A remote (or loopback) model reached through litellm's ``acompletion``."""

    def __init__(self, spec: str, uri: str) -> None:
        self.uri = uri
        self.model, self.params = parse_spec(spec, uri)
        self.attempts = self.params.pop("attempts", 4)
        self.retry_s = self.params.pop("retry_s", 90.0)
        self.fallback = self.params.pop("fallback", None)
        self.concurrency = self.params.pop("concurrency", 8)
        # top-k log-probabilities asked of the provider per token (0: none asked; not every provider has them)
        self.logprobs = self.params.pop("logprobs", 0)
        self._pacer = Pacer(self.params.pop("rpm", None))
        self._gate: tuple[Any, asyncio.Semaphore] | None = None
        self.attempts_made = 0  # every HTTP attempt, for tests and diagnostics
        self._keyed: dict[str, bool] = {}  # model -> whether its provider's key is in the environment

    def _key_in_environment(self, litellm: Any, model: str) -> bool:
        if model not in self._keyed:
            self._keyed[model] = bool(litellm.validate_environment(model=model).get("keys_in_environment"))
        return self._keyed[model]

    def _semaphore(self) -> asyncio.Semaphore:
        # one semaphore per event loop: a pool may outlive one asyncio.run()
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.concurrency))
        return self._gate[1]

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Call the model under the request's deadline, retrying what is worth retrying."""
        started = time.monotonic()
        try:
            import litellm  # noqa: F401 - fail early and clearly when the extra is missing
        except ImportError:
            raise ModelError(f"{self.uri}: litellm is not installed (pip install 'agentloop[remote]')") from None
        try:
            async with asyncio.timeout(request.timeout_s), self._semaphore():
                for model in (self.model, self.fallback):
                    if model is None:
                        break
                    try:
                        return await self._call(model, messages, request, started)
                    except _ContextLength as exc:
                        error = exc
                raise ModelError(f"{self.uri}: the prompt is longer than the model's context: {error}")
        except TimeoutError:
            raise ModelError(f"{self.uri}: no reply within {request.timeout_s:.1f} s "
                             f"({self.attempts_made} attempt(s) so far)") from None

    async def _call(self, model: str, messages: list[dict[str, str]], request: Request, started: float) -> Completion:
        malformed = {"seen": 0}

        def retryable(exc: BaseException) -> bool:
            kind = classify(exc)
            if kind == "malformed":
                malformed["seen"] += 1
                return malformed["seen"] == 1  # exactly one re-ask for a garbled reply
            return kind == "retryable"

        def wait(state: RetryCallState) -> float:
            return backoff_s(state.attempt_number, state.outcome.exception() if state.outcome is not None else None)

        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts) | stop_after_delay(self.retry_s),
                                 wait=wait, retry=retry_if_exception(retryable), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(model, messages, request, started)
        except Exception as exc:  # noqa: BLE001 - litellm raises many provider types; classified here
            kind = classify(exc)
            if kind == "context_length":
                raise _ContextLength(str(exc)[:300]) from None
            what = {"malformed": "malformed reply", "retryable": "gave up"}.get(kind, "failed")
            raise ModelError(f"{self.uri}: {what} after {self.attempts_made} attempt(s): "
                             f"{type(exc).__name__}: {str(exc)[:300]}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, model: str, messages: list[dict[str, str]], request: Request, started: float) -> Completion:
        import litellm  # imported here: the module is heavy and needs the environment set first
        await self._pacer.wait()
        kwargs: dict[str, Any] = {"temperature": request.temperature, "max_tokens": request.max_tokens, **self.params,
                                  "num_retries": 0, "max_retries": 0, "timeout": request.timeout_s}
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if self.logprobs:
            kwargs["logprobs"], kwargs["top_logprobs"] = True, self.logprobs
        if "api_base" in kwargs and "api_key" not in kwargs and not self._key_in_environment(litellm, model):
            # a local OpenAI-compatible server (llama.cpp's, vLLM, Ollama) wants no key, but the OpenAI
            # SDK refuses to send a request without one; a key from the environment still wins
            kwargs["api_key"] = "no-key"
        if request.stop_at_fence:
            kwargs["stop"] = [FENCE_STOP]  # the API drops the stop sequence: close_fence restores it
        if request.schema is not None:  # not strict: providers' strict mode rejects plain pydantic schemas;
            # agentloop.engine.structured validates the reply itself and re-asks once
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "reply", "schema": request.schema, "strict": False}}
        self.attempts_made += 1
        reply = await litellm.acompletion(model=model, messages=messages, **kwargs)
        try:
            text = reply.choices[0].message.content or ""
            text = close_fence(text) if request.stop_at_fence else text
            usage = reply.usage
        except (AttributeError, IndexError) as exc:
            raise MalformedReply(f"reply has no choices/usage: {exc}") from None
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(text=text, usage=Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0,
                                                 getattr(details, "cached_tokens", 0) or 0, _cost(litellm, model, reply)),
                          latency_s=time.monotonic() - started, model=self.uri,
                          confidence=_confidence(reply) if self.logprobs else None)


    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """Prompt tokens of ``messages`` by litellm's ``token_counter`` (the model's tokenizer where
        litellm knows it, else its default), or the 4-characters estimate when it cannot count."""
        try:
            import litellm
            return int(litellm.token_counter(model=self.model, messages=messages))
        except Exception:  # noqa: BLE001 - a counter failure must not fail the call; the estimate stands in
            return sum(approx_tokens(m["content"]) for m in messages)


class _ContextLength(Exception):
    pass


def _confidence(reply: Any) -> Confidence | None:
    """The measures of ``choices[0].logprobs.content`` (litellm's objects), or None when the provider sent none."""
    logprobs = getattr(reply.choices[0], "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if not content:
        return None
    steps = []
    for entry in content:
        logprob = getattr(entry, "logprob", None)
        if not isinstance(logprob, (int, float)) or not math.isfinite(logprob):
            return None  # a provider's malformed logprobs are no measure at all
        top = [t.logprob for t in getattr(entry, "top_logprobs", None) or []
               if isinstance(getattr(t, "logprob", None), (int, float)) and math.isfinite(t.logprob)]
        steps.append((min(0.0, float(logprob)), [min(0.0, float(x)) for x in top]))
    return from_top_logprobs(steps)


def _cost(litellm: Any, model: str, reply: Any) -> float | None:
    # a model missing from litellm's price table has no cost; asking anyway makes litellm print a
    # "Provider List" banner to stdout on every call (the name an OpenAI-compatible server reports
    # is unknown to it), which would break `run --json` and cost CPU on each of N concurrent samples
    if not any(name in litellm.model_cost for name in (model, model.split("/", 1)[-1])):
        return None
    try:
        return round(float(litellm.completion_cost(completion_response=reply)), 8)
    except Exception:  # noqa: BLE001 - models missing from the price table have no cost, not an error
        return None


def prepare_environment() -> None:
    """litellm otherwise fetches its price table from the network at import and stalls offline."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


prepare_environment()
