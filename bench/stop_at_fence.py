"""Tokens per sample with and without stopping at the end of the code block (issue 12, part 2).

HumanEval/0-29, the solver's real prompt (the humaneval suite's task, rendered as a run renders
it), the embedded SmolLM2-135M model, greedy, ``max_tokens`` 400. Each problem is generated once
without the stop, through llama.cpp; the stop agentloop applies (``first_block_closed`` on the text
decoded so far, after each token with a backtick) is evaluated on that same token stream, so both
figures come from one generation: greedy decoding makes the stopped reply a prefix of the full one.
``--check N`` also generates the first N problems live with ``stop_at_fence`` and asserts their
token counts equal the derived ones.

    python bench/stop_at_fence.py [--problems 30] [--check 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from agentloop.core.parsing import first_block_closed
from agentloop.engine.prompting import PromptRenderer
from agentloop.engine.roles import context_for
from agentloop.models.base import Request
from agentloop.models.llamacpp import LlamaCppModel, default_model_path
from agentloop.sweep.humaneval import humaneval_tasks
from agentloop.task import Task

MAX_TOKENS = 400


def solver_messages(task: Task) -> list[dict[str, str]]:
    """The first solver turn's messages, exactly as a run renders them."""
    return PromptRenderer(None).render("solver", context_for(task, []))


def full_and_stopped(model: LlamaCppModel, messages: list[dict[str, str]]) -> tuple[int, int, bool]:
    """(tokens without the stop, tokens had it stopped at the closing fence, whether it hit the cap)."""
    from llama_cpp import StoppingCriteriaList

    llama = model._load()
    formatter = model._chat_formatter(llama)
    prompt = model._tokens(llama, formatter, messages)
    formatted = formatter(messages=messages)
    stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
    seen: dict[str, int] = {}

    def watch(ids, _logits) -> bool:  # never stops: records where agentloop's stop would have fired
        generated = [int(i) for i in ids[len(prompt):]]
        if "at" not in seen and generated and b"`" in llama.detokenize(generated[-1:]) \
                and first_block_closed(llama.detokenize(generated).decode("utf-8", "replace")):
            seen["at"] = len(generated)
        return False

    reply = llama.create_completion(prompt=prompt, max_tokens=MAX_TOKENS, temperature=0.0, seed=0, stop=stops,
                                    stopping_criteria=StoppingCriteriaList([*(formatted.stopping_criteria or []),
                                                                            watch]))
    full = reply["usage"]["completion_tokens"]
    return full, seen.get("at", full), full >= MAX_TOKENS


async def live(model: LlamaCppModel, messages: list[dict[str, str]]) -> int:
    reply = await model.complete(messages, Request(role="solver", max_tokens=MAX_TOKENS, temperature=0.0, seed=0,
                                                   timeout_s=600, stop_at_fence=True))
    return reply.usage.completion_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--check", type=int, default=0, help="also run the first N live with the stop")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the per-problem figures here")
    args = parser.parse_args()
    model = LlamaCppModel(default_model_path(), "llamacpp:default", n_threads=args.threads, prefix_cache=0)
    rows = []
    started = time.monotonic()
    for suite_task in humaneval_tasks()[:args.problems]:
        messages = solver_messages(Task.from_dict(suite_task.data))
        full, stopped, capped = full_and_stopped(model, messages)
        row = {"task": suite_task.name, "without_stop": full, "with_stop": stopped, "hit_cap": capped}
        if len(rows) < args.check:
            row["with_stop_live"] = asyncio.run(live(model, messages))
            assert row["with_stop_live"] == stopped, row
        rows.append(row)
        print(json.dumps(row), flush=True)
    before = [r["without_stop"] for r in rows]
    after = [r["with_stop"] for r in rows]
    print(f"{len(rows)} problems, greedy, max_tokens {MAX_TOKENS}, {time.monotonic() - started:.0f} s")
    print(f"completion tokens per sample: without stop {statistics.mean(before):.1f} "
          f"(median {statistics.median(before)}, {sum(r['hit_cap'] for r in rows)} at the cap), "
          f"with stop {statistics.mean(after):.1f} (median {statistics.median(after)}, "
          f"{sum(a >= MAX_TOKENS for a in after)} at the cap)")
    print(f"ratio with/without: {sum(after) / sum(before):.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
