"""The graph of turns and the SQLite store."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

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


def test_store_round_trips_turns_and_refuses_a_second_turn_with_the_same_seq(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_run("r1", {"name": "t"}, None, {"default": "scripted:x"}, 7)
    turn = make_turn(1, score=0.5)
    store.add_turn("r1", turn, 1.25)
    assert [t.to_dict() for t in store.turns("r1")] == [turn.to_dict()]
    with pytest.raises(sqlite3.IntegrityError):
        store.add_turn("r1", turn, 2.0)
    record = store.get_run("r1")
    assert (record.status, record.seconds, record.seed) == ("running", 1.25, 7)
    store.close()


def test_store_is_wal_and_versioned(tmp_path):
    Store(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    Store(tmp_path / "s.db").close()  # reopening runs no migration twice
