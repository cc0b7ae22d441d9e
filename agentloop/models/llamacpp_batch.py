"""Batched sampling on llama.cpp: N samples of one prompt decoded together (``llamacpp:…?batch=1``).

As in llama.cpp's ``examples/batched``: the prompt is evaluated once, on sequence 0 of a context
with a unified KV cache; its cells are then shared by every sample (``llama_memory_seq_cp``, no
copy of the data), and each decode step is one ``llama_batch`` holding the next token of every
live sample. A CPU decode step is bound by reading the weights, not by arithmetic, so a step of
8 tokens costs little more than a step of 1: that is the whole gain.

Each sample has its own sampler chain (the one llama-cpp-python builds for ``create_completion``:
top-k 40, top-p 0.95, min-p 0.05, temperature, then a draw with the sample's own seed; greedy at
temperature 0), its own stop sequences, token cap, deadline and cancellation, and finishes on
its own (``Request.stop_below`` too: a sample whose confidence window falls below it ends there):
its future resolves as soon as it stops, while the others go on decoding.

The context is kept between calls (it only grows): sequence 0 keeps the last prompt, so a next
prompt that extends it evaluates only the new tokens. Requests with a JSON schema (grammar) do
not come here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.confidence import Tracker
from ..core.parsing import first_block_closed
from ..errors import ModelError
from .base import Completion, Request, Usage

PROMPT_SEQ = 0  # the sequence that holds the prompt; samples are 1..N
CELL_ROUND = 1024  # the KV cache grows in steps of this many cells, so most calls reuse the context
MAX_CELLS_PER_CTX = 4  # the batch context holds at most this many times the model's n_ctx in KV cells


@dataclass
class Job:
    """One sample: its settings, its state while decoding, and where its result goes."""

    max_tokens: int
    temperature: float
    seed: int | None
    timeout_s: float  # from when the batch gets the model, as for a single call
    stop: threading.Event  # set when the caller no longer wants this sample
    done: Callable[[dict | BaseException], None]  # called once, from the llama thread
    fence: bool = False  # stop once the first fenced code block closes (Request.stop_at_fence)
    deadline: float = 0.0
    cached: int = 0  # prompt tokens this sample did not evaluate itself
    tokens: list[int] = field(default_factory=list)
    text: bytes = b""
    sampler: Any = None
    finished: bool = False
    seq: int = 0
    index: int = -1  # the row of this sample's logits in the last decoded batch
    tracker: Any = None  # confidence.Tracker of this sample, when the model measures confidence
    stop_below: float | None = None  # Request.stop_below: the tracker ends the sample on a low window


class BatchDecoder:
    """A second llama.cpp context on a loaded ``Llama``'s weights, for multi-sequence decoding.

    Not thread-safe: the caller holds the model's lock and calls from the model's thread.
    """

    def __init__(self, llama: Any, n_threads: int) -> None:
        self._llama, self._n_threads = llama, n_threads
        self._ctx: Any = None
        self._cells = self._seqs = 0
        self._held: list[int] = []  # the prompt tokens sequence 0 holds

    def _context(self, cells: int, seqs: int) -> Any:
        """The context, made (again) when it is too small for ``cells`` KV cells or ``seqs`` sequences."""
        import llama_cpp
        from llama_cpp._internals import LlamaContext
        if self._ctx is not None and cells <= self._cells and seqs <= self._seqs:
            return self._ctx
        if self._ctx is not None:
            self._ctx.close()
            self._ctx, self._held = None, []
        cells = -(-max(cells, self._cells) // CELL_ROUND) * CELL_ROUND
        seqs = max(seqs, self._seqs)
        params = llama_cpp.llama_context_params.from_buffer_copy(self._llama.context_params)
        params.n_ctx, params.n_seq_max, params.kv_unified = cells, seqs, True
        params.n_batch = params.n_ubatch = max(512, seqs)
        params.n_threads = params.n_threads_batch = self._n_threads
        # flash attention skips the masked cells of the other samples: measured 8-15% more tokens/s at 8 samples
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
        self._ctx = LlamaContext(model=self._llama._model, params=params, verbose=False)
        self._cells, self._seqs = cells, seqs
        return self._ctx

    def run(self, prompt: list[int], jobs: list[Job], stops: list[str]) -> int:
        """Decode every job to its end; returns the prompt tokens evaluated (llama.cpp's counter)."""
        import llama_cpp
        from llama_cpp._internals import LlamaBatch
        need = len(prompt) + sum(j.max_tokens for j in jobs) + len(jobs)
        ctx = self._context(need, len(jobs) + 1)
        mem = ctx.memory
        llama_cpp.llama_memory_seq_keep(mem, PROMPT_SEQ)  # drop the samples of the last call
        # at least two tokens are evaluated: the last one's logits start every sample, and llama.cpp
        # counts a batch of one token as a decode step, not as prompt evaluation
        reuse = max(0, min(_common_prefix(self._held, prompt), len(prompt) - 2))
        if not llama_cpp.llama_memory_seq_rm(mem, PROMPT_SEQ, reuse, -1):
            llama_cpp.llama_memory_clear(mem, True)
            reuse = 0
        self._held = prompt[:reuse]
        width = ctx.params.n_batch
        batch = LlamaBatch(n_tokens=max(width, len(jobs)), embd=0, n_seq_max=1, verbose=False)
        try:
            llama_cpp.llama_perf_context_reset(ctx.ctx)
            start = reuse
            while start < len(prompt):
                size = width - 1 if len(prompt) - start == width + 1 else width  # never a last chunk of one token
                chunk = prompt[start:start + size]
                _fill(batch, [(tok, start + i, PROMPT_SEQ, start + i == len(prompt) - 1) for i, tok in enumerate(chunk)])
                ctx.decode(batch)
                start += size
            self._held = list(prompt)
            evaluated = _evaluated(ctx)
            last = batch.batch.n_tokens - 1
            for seq, job in enumerate(jobs, 1):
                llama_cpp.llama_memory_seq_cp(mem, PROMPT_SEQ, seq, -1, -1)
                job.seq, job.index, job.sampler = seq, last, _sampler(job)
                # the first sample is charged with the prompt evaluation, the others shared it
                job.cached = len(prompt) - evaluated if seq == 1 else len(prompt)
            self._decode(ctx, batch, prompt, jobs, stops)
        except BaseException as exc:
            self._held = []  # the cache may hold anything now: evaluate the next prompt in full
            for job in jobs:
                if not job.finished:
                    _finish(job, RuntimeError(f"batched decoding failed: {exc}"))
            raise
        finally:
            batch.close()
            for job in jobs:
                if job.sampler is not None:
                    job.sampler.close()
        return evaluated

    def _decode(self, ctx: Any, batch: Any, prompt: list[int], jobs: list[Job], stops: list[str]) -> None:
        """Sample every live job from its logits, end those that stop, decode the rest as one batch."""
        import llama_cpp
        import numpy as np
        vocab = llama_cpp.llama_model_get_vocab(self._llama._model.model)
        n_vocab = self._llama.n_vocab()
        live = list(jobs)
        while live:
            rows = []
            for job in list(live):
                token = job.sampler.sample(ctx, job.index)
                if job.tracker is not None:  # the raw distribution this token was drawn from
                    row = llama_cpp.llama_get_logits_ith(ctx.ctx, job.index)
                    job.tracker.add(np.ctypeslib.as_array(row, shape=(n_vocab,)), token)
                ended = self._step(job, token, vocab, prompt, stops)
                if ended:
                    live.remove(job)
                    llama_cpp.llama_memory_seq_rm(ctx.memory, job.seq, -1, -1)  # its cells are free for the others
                else:
                    rows.append((token, len(prompt) + len(job.tokens) - 1, job.seq, True))
                    job.index = len(rows) - 1
            if rows:
                _fill(batch, rows)
                ctx.decode(batch)

    def _step(self, job: Job, token: int, vocab: Any, prompt: list[int], stops: list[str]) -> bool:
        """Take ``token`` into ``job``; True (and the job's result delivered) when the job has ended."""
        import llama_cpp
        if job.stop.is_set():
            return _finish(job, _Ended("cancelled"))
        if time.monotonic() >= job.deadline:
            return _finish(job, _Ended("deadline"))
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            return _finish(job, self._result(job, prompt, stops))
        job.tokens.append(token)
        job.text += self._llama._model.token_to_piece(token)
        text = job.text.decode("utf-8", errors="ignore")
        low = job.tracker is not None and job.tracker.stopped is not None  # DeepConf's online stop, this token included
        if low or len(job.tokens) >= job.max_tokens or any(s in text for s in stops) or (job.fence and first_block_closed(text)):
            return _finish(job, self._result(job, prompt, stops))
        return False

    def _result(self, job: Job, prompt: list[int], stops: list[str]) -> dict:
        text = self._llama.detokenize(job.tokens, prev_tokens=prompt).decode("utf-8", errors="ignore")
        cut = min((text.index(s) for s in stops if s in text), default=len(text))
        return {"text": text[:cut], "prompt": len(prompt), "completion": len(job.tokens),
                "cached": max(0, job.cached), "params": self._llama._model.n_params(),
                "confidence": job.tracker.result() if job.tracker is not None else None,
                "stopped": job.tracker.stopped if job.tracker is not None else None}


def submit(model: Any, messages: list[dict[str, str]], requests: list[Request]) -> list[asyncio.Future]:
    """Start one batched generation of ``requests`` on ``model`` (a ``LlamaCppModel``); one future per request.

    Each future resolves when its sample ends; cancelling it ends that sample at the next step.
    """
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    futures: list[asyncio.Future] = []
    jobs: list[Job] = []
    for request in requests:
        future, stop = loop.create_future(), threading.Event()

        def cancelled(f: asyncio.Future, stop: threading.Event = stop) -> None:
            if f.cancelled():
                stop.set()
        future.add_done_callback(cancelled)

        def done(outcome: dict | BaseException, future: asyncio.Future = future, request: Request = request) -> None:
            loop.call_soon_threadsafe(_deliver, model.uri, future, request, outcome, started)

        futures.append(future)
        jobs.append(Job(max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed,
                        timeout_s=request.timeout_s, stop=stop, done=done, fence=request.stop_at_fence,
                        stop_below=request.stop_below))
    work = loop.run_in_executor(model.thread, _run_sync, model, messages, jobs)
    work.add_done_callback(lambda w: w.cancelled() or w.exception())  # failures reach the futures through ``done``
    return futures


def _run_sync(model: Any, messages: list[dict[str, str]], jobs: list[Job]) -> None:
    """On the model's thread, holding its lock: format the prompt and decode every job."""
    with model._lock:
        if all(job.stop.is_set() for job in jobs):
            return
        try:
            llama = model._load()
            formatter = model._chat_formatter(llama)
            if formatter is None:
                raise ModelError(f"{model.uri}: batch=1 needs a chat template in the GGUF")
        except ModelError as exc:
            for job in jobs:
                _finish(job, exc)
            return
        formatted = formatter(messages=messages)
        prompt = llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        room = model.n_ctx - len(prompt)  # each sample has the context window a single call would have
        if room <= 0:
            for job in jobs:
                _finish(job, ModelError(f"{model.uri}: the prompt ({len(prompt)} tokens) fills the {model.n_ctx}-token"
                                        " context window"))
            return
        now = time.monotonic()
        for job in jobs:
            job.max_tokens, job.deadline = min(job.max_tokens, room), now + job.timeout_s
            job.tracker = Tracker(llama.n_vocab(), stop_below=job.stop_below) if model.confidence else None
        if model._decoder is None:
            model._decoder = BatchDecoder(llama, model._settings["n_threads"])
        for group in _groups(jobs, len(prompt), MAX_CELLS_PER_CTX * model.n_ctx):
            try:
                model._decoder.run(prompt, group, stops)
            except (RuntimeError, ValueError):
                pass  # every job of the group that had not ended got the error through ``done``


def _groups(jobs: list[Job], prompt: int, cells: int) -> list[list[Job]]:
    """``jobs`` in order, in groups whose KV cells (one prompt, every sample's tokens) fit in ``cells``."""
    import llama_cpp
    seqs = llama_cpp.llama_max_parallel_sequences() - 1  # one sequence holds the prompt
    groups: list[list[Job]] = [[]]
    used = prompt
    for job in jobs:
        if groups[-1] and (used + job.max_tokens + 1 > cells or len(groups[-1]) >= seqs):
            groups.append([])
            used = prompt
        groups[-1].append(job)
        used += job.max_tokens + 1
    return groups


def _deliver(uri: str, future: asyncio.Future, request: Request, outcome: dict | BaseException, started: float) -> None:
    """On the event loop: resolve ``future`` with the sample's completion or its error."""
    if future.done():  # cancelled by its caller
        return
    if isinstance(outcome, dict):
        usage = Usage(outcome["prompt"], outcome["completion"], outcome["cached"])
        usage = replace(usage, flops=2.0 * outcome["params"] * usage.evaluated)  # as for a single call
        future.set_result(Completion(text=outcome["text"], usage=usage, latency_s=time.monotonic() - started, model=uri,
                                     confidence=outcome.get("confidence"), stopped=outcome.get("stopped")))
    elif isinstance(outcome, _Ended) and outcome.reason == "deadline":
        future.set_exception(ModelError(f"{uri}: no reply within {request.timeout_s:.1f} s"))
    elif isinstance(outcome, _Ended):
        future.set_exception(ModelError(f"{uri}: generation cancelled"))
    elif isinstance(outcome, ModelError):
        future.set_exception(outcome)
    else:
        future.set_exception(ModelError(f"{uri}: {outcome}"))


class _Ended(Exception):
    """A sample stopped before its end: ``reason`` is ``cancelled`` or ``deadline``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _finish(job: Job, outcome: dict | BaseException) -> bool:
    job.finished = True
    job.done(outcome)
    return True


def _sampler(job: Job) -> Any:
    """The chain llama-cpp-python's ``create_completion`` samples with, seeded with the job's seed."""
    import llama_cpp
    from llama_cpp._internals import LlamaSampler
    chain = LlamaSampler()
    if job.temperature <= 0.0:
        chain.add_greedy()
        return chain
    chain.add_top_k(40)
    chain.add_typical(1.0, 1)
    chain.add_top_p(0.95, 1)
    chain.add_min_p(0.05, 1)
    chain.add_temp(job.temperature)
    chain.add_dist(llama_cpp.LLAMA_DEFAULT_SEED if job.seed is None else job.seed & 0xFFFFFFFF)
    return chain


def _fill(batch: Any, rows: list[tuple[int, int, int, bool]]) -> None:
    """Put (token, position, sequence, wants logits) rows in ``batch``."""
    b = batch.batch
    b.n_tokens = len(rows)
    for i, (token, pos, seq, logits) in enumerate(rows):
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
        b.seq_id[i][0] = seq


def _evaluated(ctx: Any) -> int:
    """Prompt tokens llama.cpp evaluated in ``ctx`` since its counters were reset."""
    import llama_cpp
    llama_cpp.llama_synchronize(ctx.ctx)  # the counters are updated when the last decode is waited for
    return llama_cpp.llama_perf_context(ctx.ctx).n_p_eval


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
