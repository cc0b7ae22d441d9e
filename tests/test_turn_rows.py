"""Turn rows store only what a turn adds to the conversation it continues (schema 3), and every
reader (``Store.turns``, resume, ``show --json``, export) sees the same whole turns as from a
store written in the old format, one row per turn with its whole messages (schema 2)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from helpers import BAD_FIZZ, GOOD_FIZZ, cli_json, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import agentloop
from agentloop import Store, Task
from agentloop.store import _MIGRATIONS
from agentloop.store.turnrows import diff, expand
from agentloop.views.export import FORMATS, export_lines, load_runs
from agentloop.views.showing import run_json

ROUNDS = 8  # 15 turns; the long critiques push the conversation past its size limit, so it is cut too
CRITIQUE = "Round {i}: the branch for multiples of five is missing. " + "Check every branch again. " * 50


def script(good_last: bool = True) -> dict[str, list[str]]:
    refiner = [BAD_FIZZ] * (ROUNDS - 2) + [GOOD_FIZZ if good_last else BAD_FIZZ]
    return {"solver": [BAD_FIZZ], "critic": [CRITIQUE.format(i=i) for i in range(1, ROUNDS)], "refiner": refiner}


def long_run(make_task, store: Path) -> agentloop.RunResult:
    path = make_task(script(), strategy={"name": "refine", "max_turns": ROUNDS})
    return agentloop.run(Task.from_yaml(path), store=store)


def as_data(turns) -> list[dict]:
    return [t.to_dict() for t in turns]


def timeless(turn: dict) -> dict:
    """A turn's data without what a run made again measures differently (how long it took)."""
    return {**{k: v for k, v in turn.items() if k not in ("started", "seconds")},
            "feedback": [{k: v for k, v in f.items() if k != "duration_s"} for f in turn["feedback"]]}


def old_format_copy(new: Path, old: Path) -> None:
    """``old``: the runs of ``new`` as the schema-2 store wrote them (its migrations, its INSERT)."""
    source = Store(new)
    with sqlite3.connect(old) as conn:
        for script_text in _MIGRATIONS[:2]:
            conn.executescript(script_text)
        conn.execute("PRAGMA user_version = 2")
        for row in sqlite3.connect(new).execute("SELECT * FROM runs"):
            conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", row)
        for (run_id,) in conn.execute("SELECT id FROM runs").fetchall():
            for turn in source.turns(run_id):
                conn.execute("INSERT INTO turns (run_id, seq, turn_json, role, score, prompt_tokens, completion_tokens,"
                             " created, attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (run_id, turn.seq, json.dumps(turn.to_dict()), turn.role, turn.score,
                              turn.usage.prompt_tokens, turn.usage.completion_tokens, 0.0, 1))
    source.close()


def rows(db: Path) -> list[tuple[int, int, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT seq, length(turn_json), base_seq FROM turns ORDER BY seq").fetchall()


def cut_after(db: Path, seq: int) -> None:
    """As if the run was killed once turn ``seq`` was committed."""
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM turns WHERE seq > ?", (seq,))
        conn.execute("UPDATE runs SET status = 'running', result_json = NULL")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), max_size=12), st.lists(st.sampled_from("abcdefg"), max_size=12))
def test_diff_then_expand_gives_back_the_messages_whatever_the_base(base, messages):
    base = [{"role": "user", "content": c} for c in base]
    messages = [{"role": "user", "content": c} for c in messages]
    kept, tail = diff(base, messages)
    assert expand(base, kept, tail) == messages
    assert all(a < b for a, b in kept) and all(b <= c for (_, b), (c, _) in zip(kept, kept[1:]))


def test_a_late_turn_stores_no_more_bytes_than_an_early_one(make_task, tmp_path):
    result = long_run(make_task, tmp_path / "s.db")
    turns = result.graph.turns()
    assert len(turns) == 2 * ROUNDS - 1
    whole = [len(json.dumps(t.to_dict())) for t in turns]
    assert max(whole) - whole[2] > 4000  # the conversation the late turns continue did grow (then was cut)
    stored = rows(tmp_path / "s.db")
    assert all(base == seq - 1 for seq, _, base in stored[1:])  # each continues its parent's conversation
    sizes = {seq: size for seq, size, _ in stored}
    for late in range(5, 2 * ROUNDS):  # a critic (odd seq: its reply is long) or a refiner, against the same role
        assert sizes[late] <= sizes[3 if late % 2 else 2] + 200, stored


def test_a_run_reads_back_identical_through_the_store_show_and_export(make_task, tmp_path):
    result = long_run(make_task, tmp_path / "s.db")
    assert result.status == "solved"
    expected = as_data(result.graph.turns())
    assert any(len(t["messages"]) < len(expected[i - 1]["messages"]) for i, t in enumerate(expected) if i), \
        "the conversation should have been cut somewhere (a slice skips part of its base)"
    old_format_copy(tmp_path / "s.db", tmp_path / "old.db")
    for db in (tmp_path / "s.db", tmp_path / "old.db"):
        store = Store(db)
        assert as_data(store.turns(result.run_id)) == expected
        record = store.get_run(result.run_id)
        store.close()
        shown = cli_json(run_cli("show", result.run_id, "--json", "--store", str(db), cwd=tmp_path))
        assert [t["messages"] for t in shown["turns"]] == [t["messages"] for t in expected]
        assert run_json(record.__dict__, result.graph)["turns"] == json.loads(json.dumps(shown["turns"]))
    assert all(base is None for _, _, base in rows(tmp_path / "old.db"))  # upgraded in place, rows kept whole
    for fmt in FORMATS:
        new, old = (export_lines(fmt, load_runs([], db)) for db in (tmp_path / "s.db", tmp_path / "old.db"))
        assert new == old and new, fmt


def test_resume_goes_on_identically_from_a_new_and_from_an_old_format_store(make_task, tmp_path):
    full = long_run(make_task, tmp_path / "s.db")
    expected = as_data(full.graph.turns())
    old_format_copy(tmp_path / "s.db", tmp_path / "old.db")
    for db in (tmp_path / "s.db", tmp_path / "old.db"):
        cut_after(db, 6)
        again = agentloop.resume(full.run_id, store=db)
        assert again.status == "solved" and len(again.graph) == len(expected)
        resumed = as_data(again.graph.turns())
        assert resumed[:6] == expected[:6]  # replayed as stored, timings included
        assert [timeless(t) for t in resumed] == [timeless(t) for t in expected]  # the rest made again
        store = Store(db)
        assert as_data(store.turns(full.run_id)) == resumed
        store.close()
    # the old store's new turns were stored as what they add, the first against an old whole row
    assert [base for seq, _, base in rows(tmp_path / "old.db") if seq > 6] == list(range(6, 2 * ROUNDS - 1))


def test_a_turn_recorded_again_returns_the_stored_whole_turn(make_task, tmp_path):
    result = long_run(make_task, tmp_path / "s.db")
    last = result.graph.turns()[-1]
    store = Store(tmp_path / "s.db")  # a fresh store object: it has diffed nothing of this run
    again = store.add_turn(result.run_id, dataclasses.replace(last, output="other"), 1.0)
    assert again.to_dict() == last.to_dict()
    store.close()
