"""P4: best-of-16 against a loopback OpenAI-compatible server that answers after 200 ms.

One server (bench/loopback_openai.py, on 127.0.0.1, in its own process) serves every side; the
sides alternate within one client process, and the medians of their wall times are compared:

- one call: a bare ``litellm.acompletion`` to the server (one round trip);
- N bare calls: ``asyncio.gather`` of N such calls, for reference: what litellm alone costs;
- agentloop: ``agentloop.arun`` of a ``best_of_n`` task, ``n=16``, ``early_stop: false`` and no
  feedback checks (so no candidate can pass and stop the others: all 16 are generated, parsed
  and committed to the store), model ``litellm:openai/x?api_base=…&concurrency=16``;
- DSPy: ``dspy.BestOfN(dspy.Predict("task -> code"), N=16, reward_fn=…, threshold=1.0)`` with a
  reward that is always 0.0, so it also makes all 16 attempts (``dspy.LM(cache=False)``).

The server counts the requests, and the benchmark checks each side made exactly the calls it
should (1, 16, 16, 16) before it prints anything.

    python bench/p4_best_of_n.py [--n 16] [--delay 0.2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from loopback_openai import ServerProcess

import agentloop
from agentloop import Store, Task

PROMPT = "Write a Python function add(a, b) that returns the sum of a and b."
API_KEY = "sk-loopback"  # the loopback server ignores it; litellm's OpenAI client insists on one


async def one_call(server: ServerProcess) -> float:
    """Wall seconds of one bare litellm call."""
    import litellm
    started = time.perf_counter()
    await litellm.acompletion(model="openai/x", api_base=server.base_url, api_key=API_KEY, max_tokens=256,
                              messages=[{"role": "user", "content": PROMPT}], num_retries=0)
    return time.perf_counter() - started


def agentloop_task(server: ServerProcess, n: int) -> Task:
    """best_of_n over the loopback server: every sample generated, none can stop the others."""
    uri = f"litellm:openai/x?api_base={server.base_url}&api_key={API_KEY}&concurrency={n}"
    return Task.from_dict({"name": "p4-best-of-n", "prompt": PROMPT, "entry_point": "add", "feedback": [],
                           "strategy": {"name": "best_of_n", "n": n, "early_stop": False},
                           "models": {"default": uri}})


async def agentloop_best_of(task: Task, store: Store) -> float:
    """Wall seconds of one agentloop best-of-n run."""
    started = time.perf_counter()
    result = await agentloop.arun(task, store=store)
    seconds = time.perf_counter() - started
    if result.status == "error" or len(result.graph) != task.strategy.params["n"]:
        raise SystemExit(f"agentloop run ended {result.status} with {len(result.graph)} turns: {result}")
    return seconds


def dspy_best_of(server: ServerProcess, n: int) -> float:
    """Wall seconds of one DSPy BestOfN over the same server (DSPy is synchronous)."""
    import dspy
    lm = dspy.LM("openai/x", api_base=server.base_url, api_key=API_KEY, cache=False, num_retries=0,
                 max_tokens=256)
    program = dspy.BestOfN(module=dspy.Predict("task -> code"), N=n, reward_fn=lambda args, pred: 0.0,
                           threshold=1.0)  # unreachable: every attempt is made, as on agentloop's side
    started = time.perf_counter()
    with dspy.context(lm=lm):
        prediction = program(task=PROMPT)
    seconds = time.perf_counter() - started
    if prediction is None or "def add" not in prediction.code:
        raise SystemExit(f"DSPy did not parse the server's reply: {prediction!r}")
    return seconds


async def measure(server: ServerProcess, n: int, repeats: int, with_dspy: bool) -> dict[str, list[float]]:
    """Wall seconds of each side, alternating, after one warm-up round."""
    with tempfile.TemporaryDirectory() as tmp:
        store, task = Store(Path(tmp) / "agentloop.db"), agentloop_task(server, n)

        async def gathered() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(one_call(server) for _ in range(n)))
            return time.perf_counter() - started

        sides = {"one call": (lambda: one_call(server), 1),
                 f"{n} bare calls": (gathered, n),
                 "agentloop": (lambda: agentloop_best_of(task, store), n)}
        if with_dspy:  # DSPy blocks: keep it off the event loop the litellm clients live on
            sides["dspy"] = (lambda: asyncio.to_thread(dspy_best_of, server, n), n)
        walls: dict[str, list[float]] = {side: [] for side in sides}
        try:
            for i in range(repeats + 1):
                for side, (once, calls) in sides.items():
                    before = server.requests()
                    seconds = await once()
                    if (made := server.requests() - before) != calls:
                        raise SystemExit(f"{side} made {made} requests, expected {calls}")
                    if i:  # round 0 warms imports, clients and connections
                        walls[side].append(seconds)
        finally:
            store.close()
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.2, help="server reply delay, seconds")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-dspy", action="store_true", help="skip the DSPy side")
    args = parser.parse_args()
    with ServerProcess(delay_s=args.delay) as server:
        walls = asyncio.run(measure(server, args.n, args.repeats, not args.no_dspy))
    medians = {side: statistics.median(values) for side, values in walls.items()}
    print(f"best-of-{args.n} against a loopback server answering after {args.delay * 1000:.0f} ms, "
          f"{args.repeats} round(s), medians:")
    for side, values in walls.items():
        print(f"{side:>13}: {medians[side] * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
    bare = medians[f"{args.n} bare calls"]
    print(f"   (floor: {args.n} bare litellm calls at once take {bare / medians['one call']:.2f}x one call: litellm's "
          f"own CPU per call, on one event loop; agentloop takes {medians['agentloop'] / bare:.2f}x that)")
    print(f"P4 agentloop best-of-{args.n} wall: {medians['agentloop'] / medians['one call']:.2f}x one call "
          f"(target <= 1.3x)")
    if "dspy" in medians:
        print(f"P4 DSPy BestOfN(N={args.n}) wall: {medians['dspy'] / medians['one call']:.2f}x one call; "
              f"agentloop is {medians['dspy'] / medians['agentloop']:.2f}x faster than DSPy")


if __name__ == "__main__":
    main()
