"""P1, the store alone: CPU to commit each turn of the P1 refine run, whole rows vs delta rows.

The 19 turns of one ``bench/p1_runtime_cpu.py`` run are committed again with ``Store.add_turn``
to fresh stores (WAL, ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` transaction per turn, as in a
run), alternating two ways of storing them: *delta*, what the store does (each row holds what
its turn adds to its parent's conversation), and *whole*, a store that never remembers a parent
and so writes every turn with its whole conversation, as stores did before schema 3. Also
printed: the same with ``synchronous=NORMAL``, to show what the fsync of each commit costs.

    python bench/p1_turn_commit.py [--rounds 10] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import p1_runtime_cpu  # noqa: E402  (the run whose turns are committed)

import agentloop  # noqa: E402
from agentloop import Store  # noqa: E402


class _Forgetful:
    """Histories that remember nothing: every turn is stored whole (the pre-schema-3 rows)."""

    def remember(self, run_id, turn) -> None:
        pass

    def forget(self, run_id) -> None:
        pass

    def encode(self, run_id, turn):
        return None, turn.to_dict()


def commit_all(folder: Path, turns, *, whole: bool, synchronous: str) -> float:
    """CPU seconds to create a run and commit ``turns`` into a fresh store."""
    store = Store(folder / f"{time.monotonic_ns()}.db")
    store._db.execute(f"PRAGMA synchronous={synchronous}")
    if whole:
        store._histories = _Forgetful()
    store.create_run("r", {"name": "p1"}, None, {}, None)
    started = time.process_time()
    for turn in turns:
        store.add_turn("r", turn, 1.0)
    spent = time.process_time() - started
    store.close()
    return spent


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
            us: dict[str, list[float]] = {"whole": [], "delta": []}
            for _ in range(args.repeats):  # alternate, so drift on a shared machine hits both
                for side in us:
                    us[side].append(1e6 * commit_all(folder, turns, whole=side == "whole",
                                                     synchronous=synchronous) / len(turns))
            print(f"synchronous={synchronous}: " + ", ".join(
                f"{side} rows median {statistics.median(v):.0f} us CPU per turn (min {min(v):.0f})"
                for side, v in us.items()))


if __name__ == "__main__":
    main()
