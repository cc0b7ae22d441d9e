"""Sweep overhead: a greedy HumanEval sweep through agentloop vs bare llama-cpp-python on the same generations.

agentloop side: ``run_sweep`` (what ``agentloop sweep`` runs) on a sweep file written here: suite
``humaneval``, ``limit`` N, the embedded model, one configuration ``best_of_n`` with n=1 at
temperature 0 (one greedy sample per task), solver ``max_tokens`` as given; plots and tables
included, as a user gets them. Bare side: a ``llama_cpp.Llama`` loaded with the same settings,
replaying exactly the prompts agentloop sent, read back from the stored turns: the same messages
through ``create_chat_completion`` (which applies the GGUF's chat template, as agentloop does),
the same temperature and seed, and ``max_tokens`` = the completion tokens each turn generated
(greedy decoding makes the replay a prefix-exact copy, so the bare side generates the same tokens
without needing agentloop's stop at the closing fence). Both run on the model's one llama thread
(a second thread would bring a second OpenMP team spinning against the first) in this process,
the sides alternated ``--repeats`` times, each agentloop pass with a fresh store and model.

Where agentloop's extra time goes is measured by timing wrappers around the runtime's own
functions (model load, generation, zygote start, visible checks, hidden scoring, store and
ledger writes, tables, plots); they add microseconds per call.

    python bench/sweep_overhead.py [--problems 30] [--max-tokens 400] [--threads 1] [--repeats 1]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from llama_cpp import Llama

from agentloop.engine import orchestrator
from agentloop.models.llamacpp import LlamaCppModel, default_model_path
from agentloop.sandbox import client
from agentloop.store import Store
from agentloop.sweep import driver, jobs, ledger, plots, run_sweep

SPENT: dict[str, float] = defaultdict(float)  # seconds per part of agentloop's work, this pass
CALLS: dict[str, list[float]] = defaultdict(list)  # each call of the coroutine parts (checks), in seconds
LOADED: list[LlamaCppModel] = []  # the sweep's model, to replay on its thread


class _Clock(threading.local):
    """Per thread: a part's time excludes the timed calls made inside it (the zygote start inside a check)."""

    def __init__(self) -> None:
        self.inner: list[float] = []  # per open synchronous call, seconds of timed calls nested in it
        self.total = 0.0  # seconds of outermost synchronous timed calls, for the coroutines around them


CLOCK = _Clock()


def _timed(part: str, fn):
    if asyncio.iscoroutinefunction(fn):
        # coroutines interleave (a run checks while the next one generates): no stack, only the
        # synchronous timed calls made meanwhile on this thread are taken out
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            started, inner = time.perf_counter(), CLOCK.total
            try:
                return await fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - started - (CLOCK.total - inner)
                SPENT[part] += took
                CALLS[part].append(took)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            CLOCK.inner.append(0.0)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                SPENT[part] += took - CLOCK.inner.pop()
                if CLOCK.inner:
                    CLOCK.inner[-1] += took
                else:
                    CLOCK.total += took
    return wrapper


def instrument() -> None:
    """Time the parts of a sweep (the wrappers only add up wall seconds; behaviour is unchanged)."""
    targets = [
        (LlamaCppModel, "_load_once", "model load"),
        (LlamaCppModel, "_complete_sync", "generation"),
        (client.ZygoteClient, "__init__", "sandbox start (zygote)"),
        (orchestrator, "run_checks", "visible checks"),
        (orchestrator, "hidden_verdict", "hidden tests (the run's submission)"),
        (jobs, "hidden_verdict", "hidden tests (other candidates)"),
        (driver, "plan", "planning (suite, tasks)"),
        (driver, "write_all", "tables (csv, md, json)"),
        (plots, "draw", "plots"),
    ]
    for name in ("create_run", "add_turn", "finish_run", "start_attempt", "get_run", "turns"):
        targets.append((Store, name, "store"))
    for name in ("lookup", "record", "scored", "unscore"):
        targets.append((ledger.Ledger, name, "store"))
    for owner, name, part in targets:
        setattr(owner, name, _timed(part, getattr(owner, name)))
    load = LlamaCppModel._load_once

    def remember(self):
        if self._llama is None:
            LOADED.append(self)
        return load(self)
    LlamaCppModel._load_once = remember


SWEEP = """\
suite: humaneval
limit: {problems}
models: {{default: "{uri}"}}
seeds: [0]
sampling: {{solver: {{max_tokens: {max_tokens}}}}}
configs:
  - {{name: greedy, strategy: {{name: best_of_n, n: 1, temperature: 0}}}}
"""


def through_agentloop(folder: Path, args: argparse.Namespace, uri: str) -> tuple[float, list]:
    """Wall seconds of the whole sweep, and its solver turns in the order they were made."""
    sweep = folder / "sweep.yaml"
    sweep.write_text(SWEEP.format(problems=args.problems, uri=uri, max_tokens=args.max_tokens))
    SPENT.clear()
    CALLS.clear()
    started = time.perf_counter()
    results = run_sweep(sweep, folder / "out", store=folder / "sweep.db", progress=False, plots=not args.no_plots)
    wall = time.perf_counter() - started
    assert len(results.runs) == args.problems, f"{len(results.runs)} runs, expected {args.problems}"
    db = Store(folder / "sweep.db")
    try:
        turns = [t for r in db._db.execute("SELECT id FROM runs ORDER BY created").fetchall()
                 for t in db.turns(r[0]) if t.role == "solver"]
    finally:
        db.close()
    assert len(turns) == args.problems, f"{len(turns)} solver turns, expected {args.problems}"
    return wall, turns


def bare(turns: list, settings: dict, thread) -> tuple[float, float, int, int]:
    """(load seconds, generation seconds, completion tokens, replies equal to agentloop's) for the replay."""
    return thread.submit(_bare, turns, settings).result()


def _bare(turns: list, settings: dict) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    llama = Llama(model_path=str(default_model_path()), verbose=False, **settings)
    load = time.perf_counter() - started
    generating, tokens, same = 0.0, 0, 0
    for index, turn in enumerate(turns):
        started = time.perf_counter()
        reply = llama.create_chat_completion(messages=list(turn.messages), temperature=0.0,
                                             seed=index + 1,  # agentloop's: the run's seed (0) + the turn's seq (1)
                                             max_tokens=turn.usage.completion_tokens)
        generating += time.perf_counter() - started
        tokens += reply["usage"]["completion_tokens"]
        same += (reply["choices"][0]["message"]["content"] or "") == turn.output
    del llama
    return load, generating, tokens, same


def main() -> None:
    """Alternate the two sides, print each pass and the median ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=30, help="HumanEval/0 .. N-1")
    parser.add_argument("--max-tokens", type=int, default=400, help="the solver's max_tokens")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads, both sides")
    parser.add_argument("--repeats", type=int, default=1, help="agentloop/bare passes, alternated")
    parser.add_argument("--no-plots", action="store_true", help="leave the PNGs out of agentloop's side")
    args = parser.parse_args()
    uri = f"llamacpp:default?n_threads={args.threads}"
    settings = LlamaCppModel(default_model_path(), uri, n_threads=args.threads)._settings
    instrument()
    rows = []
    for rep in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="sweep-overhead-") as tmp:
            wall, turns = through_agentloop(Path(tmp), args, uri)
        spent, calls = dict(SPENT), {part: sorted(took) for part, took in CALLS.items()}
        # the bare side on agentloop's own llama thread: the one the sweep's model ran on
        load, generating, tokens, same = bare(turns, settings, LOADED[-1].thread)
        theirs = sum(t.usage.completion_tokens for t in turns)
        assert tokens == theirs, f"the bare replay generated {tokens} tokens, agentloop {theirs}: not the same work"
        rows.append((wall, load + generating))
        n = args.problems
        print(f"pass {rep + 1}: {n} problems, greedy, solver max_tokens {args.max_tokens}, {args.threads} thread(s); "
              f"{theirs} completion tokens through agentloop, {tokens} in the bare replay "
              f"({same} of {n} replies identical)")
        print(f"  agentloop: {wall:.2f} s, {wall / n:.3f} s per task")
        print(f"  bare:      {load + generating:.2f} s ({load:.2f} s load + {generating:.2f} s generating), "
              f"{(load + generating) / n:.3f} s per task")
        print(f"  ratio agentloop / bare: {wall / (load + generating):.3f}x")
        generation = spent.pop("generation", 0.0)
        print(f"  generation alone: agentloop {generation:.2f} s vs bare {generating:.2f} s "
              f"({generation / generating:.3f}x); agentloop's wall beyond its generation: {wall - generation:.2f} s "
              f"({(wall - generation) / n * 1000:.0f} ms per task)")
        # within one pass, so drifting load on a shared machine moves it less than the ratio to bare
        print(f"  agentloop wall / its own generation: {wall / generation:.3f}x")
        print("  agentloop's other work, wall seconds (checks and scoring overlap the next task's decoding):")
        for part, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            most = ""
            if part in calls:  # a candidate that loops runs to its check's timeout: those calls dominate
                slow = [t for t in calls[part] if t >= 5.0]
                most = (f"; {len(calls[part])} calls, median {statistics.median(calls[part]):.3f} s, "
                        f"{len(slow)} of them >= 5 s ({sum(slow):.1f} s)")
            print(f"    {part}: {seconds:.3f} s ({seconds / n * 1000:.1f} ms per task{most})")
        sys.stdout.flush()
    ours = statistics.median(r[0] for r in rows)
    theirs_wall = statistics.median(r[1] for r in rows)
    print(f"Sweep overhead: agentloop {ours / args.problems:.3f} s per task vs bare {theirs_wall / args.problems:.3f} s"
          f" per task: {ours / theirs_wall:.3f}x (target <= 1.10x; median of {args.repeats})")


if __name__ == "__main__":
    main()
