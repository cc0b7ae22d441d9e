"""P3: a 4-turn refine on the embedded model, with KV-prefix reuse vs without, in one process.

The calls of a real refine run (4 candidates, 3 critiques: their messages and completion-token
counts) are committed in ``bench/data/p3_refine_calls.json``, so every run of this bench replays
the same work. That sequence of calls (same messages, same token caps, greedy) is replayed on fresh
model instances, once with prefix reuse and once without, alternating over --rounds. Only
`prefix_cache` differs, so the ratios compare identical work. Prints prompt tokens evaluated
(llama.cpp's own counter) and wall seconds, and their ratios. ``--record`` runs a fresh refine and
writes its calls to the recording instead (then commit it, and say so where figures are quoted).

    python bench/p3_prefix_reuse.py [--rounds 2] [--threads N] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import agentloop
from agentloop import ModelPool, Task
from agentloop.models import Request

RECORDING = Path(__file__).parent / "data" / "p3_refine_calls.json"

TESTS = """from solution import fizzbuzz
def test_three(): assert fizzbuzz(3) == "Fizz"
def test_five(): assert fizzbuzz(5) == "Buzz"
def test_fifteen(): assert fizzbuzz(15) == "FizzBuzz"
def test_seven(): assert fizzbuzz(7) == "7"
"""
TASK = {
    "name": "p3-fizzbuzz", "entry_point": "fizzbuzz",
    "prompt": "Write a Python function fizzbuzz(n) that returns 'Fizz' for multiples of 3, 'Buzz' for multiples "
              "of 5, 'FizzBuzz' for multiples of both, and str(n) otherwise.",
    "feedback": [{"kind": "compile"}, {"kind": "tests", "code": TESTS}],
    "strategy": {"name": "refine", "max_turns": 4},
    "models": {"default": "llamacpp:default"},
    "sampling": {role: {"temperature": 0.0} for role in ("solver", "critic", "refiner")},
}


def record(pool: ModelPool, threads: str) -> None:
    """Run the refine loop once; write each turn's messages and completion-token count to the recording."""
    task = Task.from_dict({**TASK, "models": {"default": f"llamacpp:default{threads.replace('&', '?', 1)}"}})
    with tempfile.TemporaryDirectory() as tmp:
        result = agentloop.run(task, store=Path(tmp) / "p3.db", seed=7, pool=pool)
    calls = [{"messages": list(t.messages), "max_tokens": max(1, t.usage.completion_tokens)}
             for t in result.graph.turns()]
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.write_text(json.dumps({"task": TASK, "seed": 7, "calls": calls}, indent=1) + "\n")
    print(f"recorded {len(calls)} calls to {RECORDING}")


def recorded() -> list[tuple[list[dict], int]]:
    """The committed calls: (messages, completion tokens) per call."""
    return [(c["messages"], c["max_tokens"]) for c in json.loads(RECORDING.read_text())["calls"]]


async def replay(calls, prefix_cache: int, pool: ModelPool, round_: int, threads: str) -> dict:
    # a fresh instance per replay (cache_mb differs only to make the URI unique), on the pool's one
    # llama thread: nothing cached by an earlier replay can help this one
    model = pool.get(f"llamacpp:default?prefix_cache={prefix_cache}&cache_mb={512 + round_}{threads}")
    await model.complete([{"role": "user", "content": "hi"}], Request(role="solver", max_tokens=1))  # load
    started = time.perf_counter()
    prompt = evaluated = completion = 0
    for messages, max_tokens in calls:
        reply = await model.complete(messages, Request(role="solver", max_tokens=max_tokens, temperature=0.0, seed=7))
        prompt += reply.usage.prompt_tokens
        evaluated += reply.usage.prompt_tokens - reply.usage.cached_tokens
        completion += reply.usage.completion_tokens
    return {"seconds": time.perf_counter() - started, "prompt": prompt, "evaluated": evaluated, "completion": completion}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="record a fresh refine run instead of replaying")
    parser.add_argument("--threads", type=int, default=None, help="n_threads of the model (default: its own)")
    args = parser.parse_args()
    threads = f"&n_threads={args.threads}" if args.threads else ""
    pool = ModelPool()
    if args.record:
        return record(pool, threads)
    calls = recorded()
    print(f"replaying {RECORDING.name}: {len(calls)} calls, {sum(n for _, n in calls)} completion tokens")
    rows: dict[int, list[dict]] = {0: [], 1: []}
    for round_ in range(args.rounds):
        for mode in (0, 1):  # alternate so drift on a noisy machine hits both
            rows[mode].append(asyncio.run(replay(calls, mode, pool, round_, threads)))
    for mode, name in ((0, "without reuse"), (1, "with reuse")):
        r = rows[mode][-1]
        print(f"{name:>14}: {r['prompt']} prompt tokens, {r['evaluated']} evaluated, {r['completion']} generated, "
              f"median {statistics.median(x['seconds'] for x in rows[mode]):.2f} s over {args.rounds} round(s)")
    evaluated = rows[0][-1]["evaluated"] / max(1, rows[1][-1]["evaluated"])
    speed = statistics.median(x["seconds"] for x in rows[0]) / statistics.median(x["seconds"] for x in rows[1])
    print(f"P3 prompt tokens evaluated: {evaluated:.2f}x fewer with reuse (target >= 3x)")
    print(f"P3 wall time: {speed:.2f}x faster with reuse (target >= 1.5x)")


if __name__ == "__main__":
    main()
