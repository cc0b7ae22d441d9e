"""The graph of turns and the SQLite store."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Feedback, Store, Turn, TurnGraph
from agentloop.models.base import Usage


def make_turn(seq: int, parents=(), score=None, passed=False, role="solver") -> Turn:
    feedback = () if score is None else (Feedback(kind="tests", passed=passed, score=score, summary="s"),)
    return Turn(id=f"t{seq}", seq=seq, parents=tuple(parents), role=role, model="scripted:x", messages=(),
                prompt_hash="h", output="o", candidate=None if score is None else f"c{seq}",
                feedback=feedback, score=score, usage=Usage(seq, 1))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1, allow_nan=False), st.booleans(), st.integers(0, 100)), min_size=1, max_size=15))
def test_graph_invariants(spec):
    graph = TurnGraph()
    for i, (score, passed, parent_pick) in enumerate(spec, start=1):
        parents = [f"t{1 + parent_pick % (i - 1)}"] if i > 1 else []
        graph.add(make_turn(i, parents, score=score, passed=passed))
    turns = graph.turns()
    assert [t.seq for t in turns] == list(range(1, len(spec) + 1))
    for t in turns:
        assert all(graph[p].seq < t.seq for p in t.parents)  # derived only from earlier turns
    best = graph.best()
    top = max((t.passed, t.score) for t in turns)
    assert (best.passed, best.score) == top
    assert graph.usage() == Usage(sum(range(1, len(spec) + 1)), len(spec))


def test_graph_rejects_unknown_parents():
    with pytest.raises(ValueError, match="unknown turns"):
        TurnGraph().add(make_turn(2, ["t1"]))


def attempts(path, run_id: str) -> list[tuple[int, int]]:
    """(step, attempt that wrote it) of each stored turn, as the store file holds them."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT seq, attempt FROM turns WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()


def test_store_round_trips_turns_and_a_re_recorded_step_is_not_stored_twice(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_run("r1", {"name": "t"}, None, {"default": "scripted:x"}, 7)
    turn = make_turn(1, score=0.5)
    assert store.add_turn("r1", turn, 1.25) == turn
    assert [t.to_dict() for t in store.turns("r1")] == [turn.to_dict()]
    # the same step recorded again (a later attempt, after a crash): no second row, the first record wins
    assert store.start_attempt("r1") == 2
    again = make_turn(1, score=0.9)
    assert store.add_turn("r1", again, 2.0, attempt=2) == turn
    assert [t.to_dict() for t in store.turns("r1")] == [turn.to_dict()]
    store.add_turn("r1", make_turn(2, ["t1"]), 3.0, attempt=2)
    assert attempts(store.path, "r1") == [(1, 1), (2, 2)]
    record = store.get_run("r1")
    assert (record.status, record.seconds, record.seed, record.attempts) == ("running", 3.0, 7, 2)
    store.close()


def test_store_is_wal_and_versioned(tmp_path):
    Store(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    Store(tmp_path / "s.db").close()  # reopening runs no migration twice


def test_a_version_1_store_is_upgraded_in_place_keeping_its_runs(tmp_path):
    from agentloop.store import _MIGRATIONS
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.executescript(_MIGRATIONS[0] + "PRAGMA user_version = 1;")
        conn.execute("INSERT INTO runs (id, task_name, task_json, models_json, status, created, updated)"
                     " VALUES ('r0', 't', '{}', '{}', 'error', 0, 0)")
        conn.execute("INSERT INTO turns VALUES ('r0', 1, ?, 'solver', NULL, 1, 1, 0)",
                     (json.dumps(make_turn(1).to_dict()),))
    store = Store(tmp_path / "old.db")
    assert store.get_run("r0").attempts == 1 and attempts(store.path, "r0") == [(1, 1)]
    assert store.start_attempt("r0") == 2 and store.get_run("r0").status == "running"
    store.close()


@pytest.mark.parametrize("ledger_made_it", [False, True])
def test_a_version_3_store_gets_the_sweep_ledger_table(tmp_path, ledger_made_it):
    # before version 4 the sweep ledger created sweep_runs itself: a store may have it or not
    from agentloop.store import _MIGRATIONS
    from agentloop.sweep.ledger import Ledger
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.executescript("".join(_MIGRATIONS[:3]) + "PRAGMA user_version = 3;")
        if ledger_made_it:
            conn.executescript(_MIGRATIONS[3])
            conn.execute("INSERT INTO sweep_runs (key, run_id, task_name, config, seed, created)"
                         " VALUES ('k0', 'r0', 't', 'c', 1, 0)")
    store = Store(tmp_path / "old.db")
    ledger = Ledger(store)
    ledger.record("k1", "r1", task="t", config="c", seed=2)
    assert ledger.lookup("k1") == ("r1", None)
    assert ledger.lookup("k0") == (("r0", None) if ledger_made_it else None)
    ledger.close()
    store.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
