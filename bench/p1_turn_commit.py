"""P1, the store alone: CPU to commit each turn of the P1 refine run, whole rows vs delta rows.

The 19 turns of one ``bench/p1_runtime_cpu.py`` run are committed again with ``Store.add_turn``
to fresh stores (WAL, ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` transaction per turn, as in a
run), alternating two ways of storing them: *delta*, what the store does (each row holds what
its turn adds to its parent's conversation), and *whole*, a store that never remembers a parent
and so writes every turn with its whole conversation, as stores did before schema 3. Also
printed: the same with ``synchronous=NORMAL``, to show what the fsync of each commit costs, and
delta rows into a *warm* store, one whose WAL has grown past its autocheckpoint and is
overwritten in place: a fresh store (and every process that opens a store, since the last
connection to close removes the WAL) appends to its WAL, and each fsync then journals the file's
new size too.

    python bench/p1_turn_commit.py [--rounds 10] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import p1_runtime_cpu  # the run whose turns are committed

import agentloop
from agentloop import Store


class _Forgetful:
    """Histories that remember nothing: every turn is stored whole (the pre-schema-3 rows)."""

    def remember(self, run_id, turn) -> None:
        pass

    def forget(self, run_id) -> None:
        pass

    def encode(self, run_id, turn):
        return None, turn.to_dict()


def open_store(folder: Path, synchronous: str, *, whole: bool = False) -> Store:
    """A fresh store with the given sync setting (whole rows with ``whole``)."""
    store = Store(folder / f"{time.monotonic_ns()}.db")
    store._db.execute(f"PRAGMA synchronous={synchronous}")
    if whole:
        store._histories = _Forgetful()
    return store


def commit_run(store: Store, turns) -> float:
    """CPU seconds to commit ``turns`` as a new run of ``store``."""
    run_id = f"r{time.monotonic_ns()}"
    store.create_run(run_id, {"name": "p1"}, None, {}, None)
    started = time.process_time()
    for turn in turns:
        store.add_turn(run_id, turn, 1.0)
    return time.process_time() - started


def commit_fresh(folder: Path, turns, *, whole: bool, synchronous: str) -> float:
    """CPU seconds to commit ``turns`` as the first run of a fresh store."""
    store = open_store(folder, synchronous, whole=whole)
    try:
        return commit_run(store, turns)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        task = p1_runtime_cpu.agentloop_task(args.rounds, folder)
        turns = agentloop.run(task, store=folder / "source.db").graph.turns()
        for synchronous in ("FULL", "NORMAL"):
            warm, wal, size = open_store(folder, synchronous), -1, 0
            while size > wal:  # until a run no longer grows the WAL: it was checkpointed and restarted in place
                commit_run(warm, turns)
                wal, size = size, Path(f"{warm.path}-wal").stat().st_size
            sides = {"whole": partial(commit_fresh, folder, turns, whole=True, synchronous=synchronous),
                     "delta": partial(commit_fresh, folder, turns, whole=False, synchronous=synchronous),
                     "warm delta": partial(commit_run, warm, turns)}
            us: dict[str, list[float]] = {side: [] for side in sides}
            for _ in range(args.repeats):  # alternate, so drift on a shared machine hits every side
                for side, once in sides.items():
                    us[side].append(1e6 * once() / len(turns))
            warm.close()
            print(f"synchronous={synchronous}: " + ", ".join(
                f"{side} rows median {statistics.median(v):.0f} us CPU per turn (min {min(v):.0f})"
                for side, v in us.items()))


if __name__ == "__main__":
    main()
