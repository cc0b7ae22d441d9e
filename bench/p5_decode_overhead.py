"""P5: decode tokens/s through agentloop vs a bare llama-cpp-python call on the same prompt.

Both sides load the embedded model with the same settings, start from an empty KV cache, sample greedily the same
number of tokens from the same chat prompt, alternately, several times; medians are compared.

    python bench/p5_decode_overhead.py [--tokens 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from llama_cpp import Llama

from agentloop.models import ModelPool, Request
from agentloop.models.llamacpp import default_model_path

MESSAGES = [{"role": "user", "content": "Write a very long story, at least 3000 words, about a dragon."}]


def bare(llama: Llama, tokens: int, thread) -> float:
    # run on agentloop's llama thread too: a second thread would bring a second OpenMP team that
    # spins against the first, and the comparison would measure that instead of agentloop
    return thread.submit(_bare, llama, tokens).result()


def _bare(llama: Llama, tokens: int) -> float:
    llama.reset()
    started = time.perf_counter()
    reply = llama.create_chat_completion(messages=MESSAGES, max_tokens=tokens, temperature=0.0, seed=1)
    return reply["usage"]["completion_tokens"] / (time.perf_counter() - started)


def through_agentloop(model, tokens: int) -> float:
    started = time.perf_counter()
    reply = asyncio.run(model.complete(MESSAGES, Request(role="solver", max_tokens=tokens, temperature=0.0, seed=1)))
    return reply.usage.completion_tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # prefix_cache=0: agentloop resets the state before each call, exactly like the bare side
    model = ModelPool().get("llamacpp:default?prefix_cache=0")
    # the same settings on both sides (llama-cpp-python's own default is half the cores)
    llama = Llama(model_path=str(default_model_path()), verbose=False, **model._settings)
    bare(llama, 8, model.thread), through_agentloop(model, 8)  # warm-up
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(bare(llama, args.tokens, model.thread))
        ours.append(through_agentloop(model, args.tokens))
    b, a = statistics.median(theirs), statistics.median(ours)
    print(f"bare llama-cpp-python: {b:.1f} tokens/s (median of {args.repeats})")
    print(f"through agentloop:     {a:.1f} tokens/s (median of {args.repeats})")
    print(f"P5 agentloop / bare: {a / b:.1%} (target >= 95%)")


if __name__ == "__main__":
    main()
