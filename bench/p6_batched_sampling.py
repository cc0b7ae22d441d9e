"""P6: completion tokens/s of best_of_n(n=8) on a HumanEval prompt vs 8 sequential bare llama-cpp-python generations.

One process, one model file, the same settings on both sides (n_ctx, n_threads, temperature,
token cap, per-sample seeds), both on agentloop's one llama thread, alternating over --repeats:

- agentloop: ``agentloop.arun`` of a ``best_of_n`` task (``n=8``, ``early_stop: false``, so all 8
  samples are made; the problem's docstring examples run as checks) on ``llamacpp:default?batch=1``
  (or ``--batch 0``): one prompt evaluation, then the 8 samples decoded together.
- bare: the same chat messages (taken from the stored turns) through ``Llama.create_chat_completion``
  8 times in a row on one ``Llama``, seeds as agentloop's; llama-cpp-python reuses the prompt it
  holds, so it too evaluates the prompt about once.

Prints completion tokens/s of each side (median over repeats) and their ratio. ``--steps`` instead
times single decode steps over a shared prompt with 1, 2, 4, 8 and 16 samples in the batch (the
physical limit of the approach on this machine).

    python bench/p6_batched_sampling.py [--problem 0] [--n 8] [--max-tokens 256] [--repeats 3] [--batch 1]
    python bench/p6_batched_sampling.py --steps [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama

import agentloop
from agentloop import ModelPool, Store, Task
from agentloop.models.llamacpp import default_model_path
from agentloop.sweep.humaneval import humaneval_tasks

SEED = 11


def task_for(problem: int, n: int, max_tokens: int, batch: int) -> Task:
    data = dict(humaneval_tasks()[problem].data)
    data.pop("hidden_tests", None)  # the run is measured, not scored
    data.update({"strategy": {"name": "best_of_n", "n": n, "temperature": 0.8, "early_stop": False},
                 "models": {"default": f"llamacpp:default?batch={batch}"},
                 "sampling": {"solver": {"max_tokens": max_tokens}}})
    return Task.from_dict(data)


async def through_agentloop(task: Task, pool: ModelPool, db: Path) -> tuple[float, int, list]:
    """Wall seconds, completion tokens, and the turns of one best_of_n run."""
    started = time.perf_counter()
    result = await agentloop.arun(task, store=Store(db), seed=SEED, pool=pool)
    seconds = time.perf_counter() - started
    turns = result.graph.turns()
    if result.status == "error" or len(turns) != task.strategy.params["n"]:
        raise SystemExit(f"agentloop run ended {result.status} with {len(turns)} turns: {result.error}")
    return seconds, sum(t.usage.completion_tokens for t in turns), turns


def bare(llama: Llama, turns: list, max_tokens: int) -> tuple[float, int]:
    """Wall seconds and completion tokens of the same samples made one after another."""
    started = time.perf_counter()
    tokens = 0
    for turn in turns:
        reply = llama.create_chat_completion(messages=list(turn.messages), max_tokens=max_tokens, temperature=0.8,
                                             seed=SEED + turn.seq)
        tokens += reply["usage"]["completion_tokens"]
    return time.perf_counter() - started, tokens


def steps(n_threads: int, repeats: int = 6) -> None:
    """Median ms per decode step by number of samples in the batch, on BatchDecoder's kind of context."""
    import llama_cpp
    from llama_cpp._internals import LlamaBatch

    from agentloop.models.llamacpp_batch import BatchDecoder, _fill
    llama = Llama(model_path=str(default_model_path()), verbose=False, n_threads=n_threads)
    widths = (1, 2, 4, 8, 16)
    decoder = BatchDecoder(llama, n_threads)
    ctx = decoder._context(4096, max(widths) + 1)
    batch = LlamaBatch(n_tokens=512, embd=0, n_seq_max=1, verbose=False)
    prompt = llama.tokenize(b"def is_prime(n):\n    " * 20)
    _fill(batch, [(tok, i, 0, i == len(prompt) - 1) for i, tok in enumerate(prompt)])
    ctx.decode(batch)
    for seq in range(1, max(widths) + 1):
        llama_cpp.llama_memory_seq_cp(ctx.memory, 0, seq, -1, -1)
    pos, times = dict.fromkeys(range(1, max(widths) + 1), len(prompt)), {w: [] for w in widths}
    for _ in range(repeats):
        for width in widths:  # alternate, so drift on a shared machine hits every width
            _fill(batch, [(prompt[-1], pos[s], s, True) for s in range(1, width + 1)])
            for s in range(1, width + 1):
                pos[s] += 1
            started = time.perf_counter()
            ctx.decode(batch)
            llama_cpp.llama_synchronize(ctx.ctx)
            times[width].append(time.perf_counter() - started)
    one = statistics.median(times[1])
    for width, values in times.items():
        step = statistics.median(values)
        print(f"{width:>2} samples: {1000 * step:.1f} ms a step, {width / step:.1f} tokens/s, "
              f"{width * one / step:.2f}x one sample's tokens/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", type=int, default=0, help="index of the HumanEval problem")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, choices=(0, 1))
    parser.add_argument("--steps", action="store_true", help="time single decode steps by batch width instead")
    parser.add_argument("--threads", type=int, default=None, help="n_threads for --steps (default: the model's)")
    args = parser.parse_args()
    if args.steps:
        return steps(args.threads or ModelPool().get("llamacpp:default")._settings["n_threads"])
    task = task_for(args.problem, args.n, args.max_tokens, args.batch)
    pool = ModelPool()
    model = pool.get(task.models["default"])
    # the same settings on both sides (llama-cpp-python's own default is half the cores)
    llama = Llama(model_path=str(default_model_path()), verbose=False, **model._settings)
    loop = asyncio.get_running_loop()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        await through_agentloop(task_for(args.problem, 2, 4, args.batch), pool, Path(tmp) / "warm.db")  # load
        for i in range(args.repeats):
            seconds, tokens, turns = await through_agentloop(task, pool, Path(tmp) / f"r{i}.db")
            ours.append((tokens / seconds, tokens, seconds))
            seconds, tokens = await loop.run_in_executor(model.thread, bare, llama, turns, args.max_tokens)
            theirs.append((tokens / seconds, tokens, seconds))
            print(f"repeat {i + 1}: agentloop {ours[-1][1]} tokens in {ours[-1][2]:.1f} s ({ours[-1][0]:.1f}/s); "
                  f"bare {theirs[-1][1]} tokens in {theirs[-1][2]:.1f} s ({theirs[-1][0]:.1f}/s); "
                  f"prompt {turns[0].usage.prompt_tokens} tokens", flush=True)
    a, b = statistics.median(r[0] for r in ours), statistics.median(r[0] for r in theirs)
    print(f"agentloop best_of_n(n={args.n}, batch={args.batch}): {a:.1f} completion tokens/s (median of {args.repeats})")
    print(f"bare llama-cpp-python, {args.n} in a row:   {b:.1f} completion tokens/s (median of {args.repeats})")
    print(f"P6 agentloop / bare: {a / b:.2f}x (target >= 3x)")


if __name__ == "__main__":
    asyncio.run(main())
