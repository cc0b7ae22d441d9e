"""P1: runtime CPU per turn of one refine loop, persisted to SQLite: agentloop vs LangGraph.

The same loop on both sides, with an instant scripted model (no model time at all, so only the
runtime's own overhead is measured): a solver turn, then ``rounds - 1`` rounds of critic and
refiner turns, 2 * rounds - 1 turns in all. No feedback checks on either side (none can pass, so
both run every round), and every finished turn is committed to SQLite before the next starts.
agentloop's static tamper scan of each candidate (``sandbox.scan``, an ``ast`` walk) is a check
too, so it is off unless ``--scan`` is given.

- agentloop: ``agentloop.run`` of a ``refine`` task (``max_turns=rounds``, ``feedback: []``)
  with a ``scripted:`` model file and a ``Store``: prompts rendered from the jinja2 templates,
  code parsed, one row per turn committed with ``BEGIN IMMEDIATE`` in WAL mode.
- LangGraph: a ``StateGraph`` with solver, critic and refiner nodes and conditional edges,
  compiled with a ``SqliteSaver`` and invoked with ``durability="sync"`` (the checkpoint of each
  step is written before the next step runs); the nodes build the same conversation with
  f-strings, call the same replies from a list and extract the code with a regex. Its
  connection is in WAL mode with ``synchronous=NORMAL`` (no fsync per step), unless
  ``--langgraph-synchronous FULL`` gives it the store's durability: agentloop's store is
  ``synchronous=FULL``, an fsync of the WAL per committed turn, which this bench counts too.

CPU is process time (user + system, children included) around each whole run, divided by its
turns; runs alternate between the two sides and the medians are compared.

    python bench/p1_runtime_cpu.py [--rounds 10] [--repeats 9] [--scan] [--langgraph-synchronous FULL]
"""

from __future__ import annotations

import argparse
import operator
import re
import resource
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, TypedDict

import yaml

import agentloop
from agentloop import Store, Task

PROMPT = ("Write a Python function fizzbuzz(n) that returns 'Fizz' for multiples of 3, 'Buzz' for multiples of 5, "
          "'FizzBuzz' for multiples of both, and str(n) otherwise.")
CODE = "```python\ndef fizzbuzz(n):\n    # attempt {i}\n    if n % 15 == 0:\n        return 'FizzBuzz'\n" \
       "    if n % 3 == 0:\n        return 'Fizz'\n    if n % 5 == 0:\n        return 'Buzz'\n    return str(n)\n```"
CRITIQUE = "Attempt {i}: the branches look right, but check the order of the tests and the return type for n = 0."
FENCE = re.compile(r"```[A-Za-z0-9_+-]*\n(.*?)```", re.DOTALL)


def script(rounds: int) -> dict[str, list[str]]:
    """The replies of one run, per role (the same text feeds both sides)."""
    return {"solver": [CODE.format(i=0)],
            "critic": [CRITIQUE.format(i=i) for i in range(1, rounds)],
            "refiner": [CODE.format(i=i) for i in range(1, rounds)]}


def cpu() -> float:
    """Process CPU seconds so far, children included."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # os.times() ticks at 10 ms: too coarse
    return time.process_time() + children.ru_utime + children.ru_stime


# ---- agentloop ---------------------------------------------------------------------------------

def agentloop_task(rounds: int, folder: Path, *, scan: bool = False) -> Task:
    """A refine task with no checks (the static scan only with ``scan``) and a scripted model file."""
    path = folder / "script.yaml"
    path.write_text(yaml.safe_dump(script(rounds)))
    return Task.from_dict({"name": "p1-refine", "prompt": PROMPT, "entry_point": "fizzbuzz", "feedback": [],
                           "strategy": {"name": "refine", "max_turns": rounds}, "sandbox": {"scan": scan},
                           "models": {"default": f"scripted:{path}"}})


def run_agentloop(task: Task, store: Store) -> tuple[float, int]:
    """CPU seconds and turns of one agentloop run."""
    started = cpu()
    result = agentloop.run(task, store=store)  # a fresh model pool: the script starts from its first reply
    return cpu() - started, len(result.graph)


# ---- LangGraph ---------------------------------------------------------------------------------

class RefineState(TypedDict):
    """The loop's state: the conversation (appended to) and the latest candidate."""

    messages: Annotated[list[dict[str, str]], operator.add]
    candidate: str | None
    round: int


def langgraph_app(rounds: int, db_path: Path, synchronous: str = "NORMAL"):
    """The same loop as a compiled ``StateGraph`` checkpointed by ``SqliteSaver``."""
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    replies: dict[str, list[str]] = {}

    def model(role: str) -> str:  # the instant scripted model: the role's next reply
        return replies[role].pop(0)

    def reply(state: RefineState, role: str, ask: str) -> list[dict[str, str]]:
        messages = [*state["messages"], {"role": "user", "content": ask}]
        return [messages[-1], {"role": "assistant", "content": model(role)}]

    def solver(state: RefineState) -> dict:
        replies.update(script(rounds))  # each run starts the script again, like agentloop's fresh pool
        system = {"role": "system", "content": "You are an expert Python programmer. You write code, review it "
                                               "against the results of real checks, and fix it."}
        new = reply({"messages": [system]}, "solver",
                    f"{PROMPT}\n\nWrite the complete Python code defining `fizzbuzz` in one ```python block.")
        return {"messages": [system, *new], "candidate": _code(new[-1]["content"]), "round": 1}

    def critic(state: RefineState) -> dict:
        return {"messages": reply(state, "critic", "I ran the checks on your code:\n\nReview it: in a few "
                                                   "sentences, say what is wrong and exactly how to fix it.")}

    def refiner(state: RefineState) -> dict:
        new = reply(state, "refiner", "Now write the corrected complete Python code defining `fizzbuzz` in one "
                                      "```python block and nothing else.")
        return {"messages": new, "candidate": _code(new[-1]["content"]), "round": state["round"] + 1}

    def more(state: RefineState) -> str:
        return "critic" if state["round"] < rounds else END

    graph = StateGraph(RefineState)
    for name, node in (("solver", solver), ("critic", critic), ("refiner", refiner)):
        graph.add_node(name, node)
    graph.add_edge(START, "solver")
    graph.add_conditional_edges("solver", more, ["critic", END])
    graph.add_edge("critic", "refiner")
    graph.add_conditional_edges("refiner", more, ["critic", END])
    conn = sqlite3.connect(db_path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")  # FULL: what agentloop's store uses
    return graph.compile(checkpointer=SqliteSaver(conn))


def _code(text: str) -> str | None:
    match = FENCE.search(text)
    return match.group(1) if match else None


def run_langgraph(app, rounds: int) -> tuple[float, int]:
    """CPU seconds and turns (node runs) of one LangGraph run."""
    config = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 2 * rounds + 10}
    started = cpu()
    turns = sum(1 for _ in app.stream({"messages": [], "candidate": None, "round": 0}, config,
                                      stream_mode="updates", durability="sync"))
    return cpu() - started, turns


# ---- the comparison ------------------------------------------------------------------------------

def measure(rounds: int, repeats: int, scan: bool = False, synchronous: str = "NORMAL") -> dict[str, list[float]]:
    """CPU ms per turn of each side, one entry per repeat (after one warm-up run each)."""
    per_turn: dict[str, list[float]] = {"agentloop": [], "langgraph": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        task, store = agentloop_task(rounds, folder, scan=scan), Store(folder / "agentloop.db")
        app = langgraph_app(rounds, folder / "langgraph.db", synchronous)
        try:
            for i in range(repeats + 1):  # alternate, so drift on a shared machine hits both sides
                for side, once in (("agentloop", lambda: run_agentloop(task, store)),
                                   ("langgraph", lambda: run_langgraph(app, rounds))):
                    seconds, turns = once()
                    if turns != 2 * rounds - 1:
                        raise SystemExit(f"{side} ran {turns} turns, expected {2 * rounds - 1}")
                    if i:  # the first run of each side warms imports and caches
                        per_turn[side].append(1000 * seconds / turns)
        finally:
            store.close()
    return per_turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="refine rounds per run (2*rounds-1 turns)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--scan", action="store_true", help="run agentloop's static tamper scan on each candidate")
    parser.add_argument("--langgraph-synchronous", choices=("NORMAL", "FULL"), default="NORMAL",
                        help="LangGraph's SQLite synchronous setting (agentloop's store always uses FULL)")
    args = parser.parse_args()
    started = time.perf_counter()
    per_turn = measure(args.rounds, args.repeats, args.scan, args.langgraph_synchronous)
    print(f"refine loop: {2 * args.rounds - 1} turns per run, {args.repeats} run(s) per side, every turn committed "
          f"to SQLite before the next; agentloop's static scan {'on' if args.scan else 'off'}; synchronous=FULL "
          f"for agentloop, {args.langgraph_synchronous} for LangGraph")
    for side, values in per_turn.items():
        print(f"{side:>10}: median {statistics.median(values):.3f} ms CPU per turn "
              f"(min {min(values):.3f}, max {max(values):.3f})")
    ratio = statistics.median(per_turn["langgraph"]) / statistics.median(per_turn["agentloop"])
    # the fastest runs too: on a shared machine a neighbour's load inflates some runs' CPU time
    fastest = min(per_turn["langgraph"]) / min(per_turn["agentloop"])
    print(f"P1 CPU per turn: agentloop uses {ratio:.2f}x less than LangGraph by medians, {fastest:.2f}x by the "
          f"fastest runs (target >= 5x) [{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
