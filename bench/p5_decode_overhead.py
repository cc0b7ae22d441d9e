"""P5: decode tokens/s through agentloop vs a bare llama-cpp-python call on the same prompt.

Both sides load the embedded model, start from an empty KV cache, sample greedily the same
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


def bare(llama: Llama, tokens: int) -> float:
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
    llama = Llama(model_path=str(default_model_path()), n_ctx=4096, verbose=False)
    # prefix_cache=0: agentloop resets the state before each call, exactly like the bare side
    model = ModelPool().get("llamacpp:default?prefix_cache=0")
    bare(llama, 8), through_agentloop(model, 8)  # warm-up
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(bare(llama, args.tokens))
        ours.append(through_agentloop(model, args.tokens))
    b, a = statistics.median(theirs), statistics.median(ours)
    print(f"bare llama-cpp-python: {b:.1f} tokens/s (median of {args.repeats})")
    print(f"through agentloop:     {a:.1f} tokens/s (median of {args.repeats})")
    print(f"P5 agentloop / bare: {a / b:.1%} (target >= 95%)")


if __name__ == "__main__":
    main()
