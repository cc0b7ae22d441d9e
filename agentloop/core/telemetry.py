"""Optional OpenTelemetry spans: run → turn → model call / check, when the ``opentelemetry`` API is installed.

Nothing here is imported or costs anything unless the OpenTelemetry API package is importable
(``pip install opentelemetry-api``); then each run is one span ``agentloop.run``, each turn a child
``agentloop.turn``, and each model call (``agentloop.model_call``) and check (``agentloop.check``)
a child of its turn (the submission's hidden tests: ``agentloop.hidden_tests``). Where the spans go
is the application's choice, as OpenTelemetry intends: a library only uses the global tracer
provider, and until the application (or ``opentelemetry-instrument``) installs one, agentloop
makes no span at all (docs/telemetry.md).

Attribute names follow OpenTelemetry's GenAI semantic conventions where one exists
(``gen_ai.request.model``, ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``), and are
``agentloop.*`` otherwise. Model output never becomes an attribute: only counts, names and verdicts.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

TRACER = "agentloop"


@functools.cache
def _trace() -> Any:
    """``opentelemetry.trace``, or None when the API is not installed (looked for once)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


def enabled() -> bool:
    """True when the OpenTelemetry API is installed (spans are made; a no-op until an SDK is set up)."""
    return _trace() is not None


def model_name(uri: str) -> str:
    """A model URI without its query: ``api_key=…`` and server addresses never leave in a span."""
    return uri.partition("?")[0]


class _Span:
    """A span being recorded, or nothing at all when OpenTelemetry is absent."""

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def set(self, **attributes: Any) -> None:
        """Set attributes, named ``agentloop.NAME`` unless already namespaced (``gen_ai.…``); None values are
        left out: an attribute is never null."""
        if self._span is not None:
            self.set_raw({k if k.startswith("gen_ai.") else f"agentloop.{k}": v for k, v in attributes.items()})

    def set_raw(self, attributes: dict[str, Any]) -> None:
        """Set attributes under their full names."""
        if self._span is not None:
            self._span.set_attributes({k: v for k, v in attributes.items() if v is not None})

    def usage(self, usage: Any) -> None:
        """A call's (or a turn's) tokens and cost."""
        if self._span is None:
            return
        self.set_raw({"gen_ai.usage.input_tokens": usage.prompt_tokens,
                      "gen_ai.usage.output_tokens": usage.completion_tokens,
                      "agentloop.cached_tokens": usage.cached_tokens, "agentloop.cost_usd": usage.cost_usd})


def _tracer() -> Any:
    """The tracer of the provider the application installed; None without OpenTelemetry or without a provider.

    Until an application installs a provider the API's default does nothing, slowly (a proxy span
    and a context switch each time): skipping it keeps a turn's spans near zero cost.
    """
    trace = _trace()
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    return _tracer_of(provider)


def _error_status(description: str) -> Any:
    """An ERROR span status saying only ``description`` (the exception's type, never its message)."""
    trace = _trace()
    return trace.Status(trace.StatusCode.ERROR, description)


@functools.lru_cache(maxsize=4)
def _tracer_of(provider: Any) -> Any:
    return provider.get_tracer(TRACER)


class _Nothing(contextlib.AbstractContextManager):
    """What ``span`` returns when nothing is traced: one shared object, no generator, no allocation."""

    def __enter__(self) -> _Span:
        return _NO_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN = _Span()
_NOTHING = _Nothing()


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[_Span]:
    """A child span of the current one, made current while the block runs; an exception ends it as an error."""
    tracer = _tracer()
    return _NOTHING if tracer is None else _recording(tracer, name, attributes)


@contextlib.contextmanager
def _recording(tracer: Any, name: str, attributes: dict[str, Any]) -> Iterator[_Span]:
    # no exception text on spans: a model error's message starts with the model URI, which may hold an api_key,
    # and a provider's error may quote the request; the span records only the exception's type
    with tracer.start_as_current_span(name, record_exception=False, set_status_on_exception=False) as current:
        recorder = _Span(current)
        recorder.set(**attributes)
        try:
            yield recorder
        except BaseException as exc:
            current.set_status(_error_status(type(exc).__name__))
            current.set_attribute("error.type", type(exc).__name__)
            raise


def model_call(uri: str, request: Any) -> contextlib.AbstractContextManager[_Span]:
    """The span of one model call; the caller records the completion's ``usage`` on it."""
    tracer = _tracer()
    if tracer is None:
        return _NOTHING
    return _recording(tracer, "agentloop.model_call", {
        "role": request.role, "model": model_name(uri), "max_tokens": request.max_tokens,
        "temperature": request.temperature, "gen_ai.operation.name": "chat", "gen_ai.request.model": model_name(uri)})


def check(kind: str) -> contextlib.AbstractContextManager[_Span]:
    """The span of one check; the caller records its verdict with ``verdict``."""
    return span("agentloop.check", **{"check.kind": kind})


def verdict(recorder: _Span, feedback: Any) -> None:
    """A check's verdict on its span."""
    recorder.set(**{"check.passed": feedback.passed, "check.score": feedback.score})


def traced_turn(complete: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``Run._complete_turn(self, role, seq, parents, uri, ...)`` in an ``agentloop.turn`` span."""
    @functools.wraps(complete)
    async def wrapper(self: Any, role: str, seq: int, parents: list, uri: str, *args: Any, **kwargs: Any) -> Any:
        if _tracer() is None:
            return await complete(self, role, seq, parents, uri, *args, **kwargs)
        with span("agentloop.turn", role=role, turn=f"t{seq}", model=model_name(uri)) as recorder:
            turn = await complete(self, role, seq, parents, uri, *args, **kwargs)
            recorder.usage(turn.usage)
            recorder.set(score=turn.score, passed=turn.passed if turn.score is not None else None)
            return turn
    return wrapper


def traced_hidden(verdict: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``hidden_verdict`` in an ``agentloop.hidden_tests`` span: its ``tests`` check is the hidden one."""
    @functools.wraps(verdict)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _tracer() is None:
            return await verdict(*args, **kwargs)
        with span("agentloop.hidden_tests") as recorder:
            result = await verdict(*args, **kwargs)
            recorder.set(**{"hidden_tests.passed": result["passed"], "hidden_tests.score": result["score"]})
            return result
    return wrapper


def traced_run(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``_execute(task, store, run_id, *, resumed, ...)`` in an ``agentloop.run`` span."""
    @functools.wraps(execute)
    async def wrapper(task: Any, store: Any, run_id: str, *args: Any, **kwargs: Any) -> Any:
        if _tracer() is None:
            return await execute(task, store, run_id, *args, **kwargs)
        with span("agentloop.run", run_id=run_id, task=task.name, strategy=task.strategy.name,
                  resumed=kwargs.get("resumed")) as recorder:
            result = await execute(task, store, run_id, *args, **kwargs)
            recorder.usage(result.tokens)
            recorder.set(status=result.status, stop_reason=result.stop_reason, turns=result.turns, score=result.score)
            return result
    return wrapper
