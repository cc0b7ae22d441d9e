"""Model backends and the pool that resolves model URIs (SPEC §3) to loaded models."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import ModelURIError
from .base import Completion, Model, Request, Usage

__all__ = ["Completion", "Model", "ModelCalls", "ModelPool", "Request", "Usage", "normalize_uri"]

_SCHEMES = ("scripted", "llamacpp", "litellm")


def normalize_uri(uri: str, base_dir: Path | None) -> str:
    """Validate ``uri`` and make a relative file path in it absolute (against ``base_dir``).

    Raises ``ModelURIError`` for an unknown scheme or a file that is not there, before any run
    starts, so a typo exits 2 with nothing written.
    """
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme not in _SCHEMES or not rest:
        raise ModelURIError(f"unknown model URI '{uri}' (expected {', '.join(s + ':…' for s in _SCHEMES)})")
    if scheme == "litellm":
        from .litellm import parse_spec  # checks the query only; litellm itself is imported on first call
        parse_spec(rest, uri)
        return uri
    if scheme == "llamacpp" and rest.split("?")[0] in _NAMED_GGUF:
        from .llamacpp import parse_params
        _named_path(rest.split("?")[0])
        parse_params(uri, _split_mode(uri, rest.partition("?")[2])[1])
        return uri
    path_part, qmark, query = rest.partition("?")
    path = Path(path_part).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        raise ModelURIError(f"model URI '{uri}': file not found: {path}")
    if scheme == "scripted":
        from .scripted import load_script
        load_script(path)
    else:
        from .llamacpp import parse_params
        parse_params(uri, _split_mode(uri, query)[1])
    return f"{scheme}:{path.resolve()}{qmark}{query}"


class ModelCalls:
    """A run's model calls as a scheduler sees them: is the run waiting on a model right now?

    The sweep starts the next run while every running one is busy with something else (checking
    its candidate, scoring it on the hidden tests, storing it), so the model is never idle while
    checks run. ``changed`` is called after each call ends.
    """

    def __init__(self, changed: Callable[[], None] | None = None) -> None:
        self.in_flight = 0
        self.finished = 0
        self._changed = changed

    @property
    def on_model(self) -> bool:
        """True while a call is in flight, and before the run's first call has ended (it is about to make one)."""
        return self.in_flight > 0 or self.finished == 0

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Count one model call for as long as the block runs."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self.finished += 1
            if self._changed is not None:
                self._changed()


class ModelPool:
    """One loaded model per URI, shared by every role (and run) that names it.

    Every llama.cpp model of a pool runs on the pool's one worker thread (see llamacpp.py for why).
    ``calls`` counts the model calls of the runs that use this pool (a sweep gives each run its own).
    """

    def __init__(self, calls: ModelCalls | None = None) -> None:
        self._models: dict[str, Model] = {}
        self._llama_thread: ThreadPoolExecutor | None = None
        self.calls = calls or ModelCalls()

    def add(self, model: Model) -> str:
        """Put an already built model (a ``FunctionModel``, your own backend) in the pool; returns its URI."""
        self._models[model.uri] = model
        return model.uri

    def get(self, uri: str) -> Model:
        """The model for a normalized URI, loading its backend on first use."""
        if uri not in self._models:
            self._models[uri] = self._create(uri)
        return self._models[uri]

    def _create(self, uri: str) -> Model:
        if uri.startswith("llamacpp:") and self._llama_thread is None:
            self._llama_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentloop-llamacpp")
        return _create(uri, self._llama_thread)


def _create(uri: str, llama_thread: ThreadPoolExecutor | None) -> Model:
    scheme, _, rest = uri.partition(":")
    target, _, query = rest.partition("?")
    if scheme == "scripted":
        from .scripted import ScriptedModel
        return ScriptedModel(Path(target), uri)
    if scheme == "llamacpp":
        from .completion import NAMED, CompletionModel
        from .llamacpp import LlamaCppModel, parse_params
        mode, query = _split_mode(uri, query)
        path = _named_path(target) if target in _NAMED_GGUF else Path(target)
        cls = CompletionModel if (mode or NAMED.get(target, "chat")) == "completion" else LlamaCppModel
        return cls(path, uri, thread=llama_thread, **parse_params(uri, query))
    from .litellm import LiteLLMModel
    return LiteLLMModel(rest, uri)


_NAMED_GGUF = ("default", "gemma3-270m")  # llamacpp:NAME for the GGUFs that come in Python packages


def _named_path(name: str) -> Path:
    if name == "default":
        from .llamacpp import default_model_path
        return default_model_path()
    from .completion import gemma_model_path
    return gemma_model_path()


def _split_mode(uri: str, query: str) -> tuple[str | None, str]:
    from .completion import split_mode
    return split_mode(uri, query)
