"""The run store: SQLite in WAL mode; every finished turn is committed before the next starts.

Writes use ``BEGIN IMMEDIATE`` with a busy timeout so several processes can share one store, and
``synchronous=FULL``: a turn whose progress line was printed survives a crash of the process and
of the machine. A turn is keyed by (run, seq) (the step) and records the attempt (how many times
the run was started or resumed) that produced it; recording a step again is a no-op that returns
the turn already stored, so a turn re-recorded after a crash can never be stored twice. A turn row
holds only the messages the turn adds to the conversation of an earlier turn of its run
(``turnrows.py``); ``turns`` gives back whole turns, whatever version of the store wrote them. The
schema is versioned with ``PRAGMA user_version`` and upgraded by ordered migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..core.status import RunStatus
from ..errors import InputError, RunNotFoundError
from .graph import Turn
from .turnrows import Histories, decode

DEFAULT_PATH = Path(".agentloop") / "agentloop.db"

_MIGRATIONS = [
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        task_name TEXT NOT NULL,
        task_json TEXT NOT NULL,
        task_dir TEXT,
        models_json TEXT NOT NULL,
        seed INTEGER,
        status TEXT NOT NULL,
        stop_reason TEXT,
        error TEXT,
        seconds REAL NOT NULL DEFAULT 0,
        result_json TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE turns (
        run_id TEXT NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        turn_json TEXT NOT NULL,
        role TEXT NOT NULL,
        score REAL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    # 2: which attempt (1 = the first `run`, 2 = the first `resume`, …) wrote each turn
    """
    ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE turns ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    """,
    # 3: a turn's messages stored as what it adds to an earlier turn's conversation (turnrows.py);
    # NULL, as in every row written before: turn_json holds the whole messages
    """
    ALTER TABLE turns ADD COLUMN base_seq INTEGER;
    """,
    # 4: the sweep ledger (sweep/ledger.py): which run answers which (task, configuration, seed) key.
    # IF NOT EXISTS: a store a sweep used at version 3 already has the table, made by the ledger itself
    """
    CREATE TABLE IF NOT EXISTS sweep_runs (
        key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        config TEXT NOT NULL,
        seed INTEGER,
        hidden_json TEXT,
        created REAL NOT NULL
    );
    """,
]


LATEST = "latest"  # accepted wherever a run id is: the newest run in the store


def default_store_path() -> Path:
    """``$AGENTLOOP_STORE``, else ``.agentloop/agentloop.db`` under the current folder."""
    return Path(os.environ.get("AGENTLOOP_STORE") or DEFAULT_PATH)


@dataclass(frozen=True)
class RunRecord:
    """A stored run's row."""

    id: str
    task_name: str
    task: dict[str, Any]
    task_dir: str | None
    models: dict[str, str]
    seed: int | None
    status: RunStatus
    stop_reason: str | None
    error: str | None
    seconds: float
    result: dict[str, Any] | None
    created: float
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The row as plain data (``load_run``'s record, a run copied between stores)."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "status": str(self.status)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Inverse of ``to_dict``."""
        return cls(**{**data, "status": RunStatus(data["status"])})


class Store:
    """A SQLite file of runs and their turns."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        if not create and not self.path.is_file():
            # reading commands must not leave an empty store behind
            raise RunNotFoundError(f"no store at {self.path}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: every write below opens its own BEGIN IMMEDIATE transaction
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
            self._histories = Histories()
        except (OSError, sqlite3.DatabaseError) as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # contention past the busy timeout is not the user's input
            # a --store that is a text file, a folder, or under a file: bad input, nothing written
            raise InputError(f"{self.path}: not a usable agentloop store ({exc})") from None

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    def create_run(self, run_id: str, task: dict[str, Any], task_dir: str | None, models: dict[str, str],
                   seed: int | None) -> None:
        """Record a new run in status ``running``."""
        now = time.time()
        with self._write() as db:
            db.execute("INSERT INTO runs (id, task_name, task_json, task_dir, models_json, seed, status, created, updated)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (run_id, task["name"], json.dumps(task), task_dir,
                                                              json.dumps(models), seed, RunStatus.RUNNING, now, now))

    def add_turn(self, run_id: str, turn: Turn, run_seconds: float, *, attempt: int = 1) -> Turn:
        """Commit a finished turn and the run's elapsed seconds in one transaction; returns the stored turn.

        Idempotent by (run, step): when the step is already stored, nothing is written and the
        stored turn is returned (the first record wins), whichever attempt re-records it.
        """
        base_seq, data = self._histories.encode(run_id, turn)
        body = json.dumps(data)
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO turns (run_id, seq, turn_json, role, score, prompt_tokens, completion_tokens, created,"
                " attempt, base_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, seq) DO NOTHING",
                (run_id, turn.seq, body, turn.role, turn.score,
                 turn.usage.prompt_tokens, turn.usage.completion_tokens, now, attempt, base_seq))
            if cursor.rowcount == 0:
                stored = next(t for t in self._read_turns(run_id) if t.seq == turn.seq)
            else:
                stored = turn
                db.execute("UPDATE runs SET seconds = ?, updated = ? WHERE id = ?", (run_seconds, now, run_id))
        self._histories.remember(run_id, stored)  # only once committed: a later turn may refer to it
        return stored

    def start_attempt(self, run_id: str) -> int:
        """Mark a stored run ``running`` again for a resume; returns the new attempt number."""
        with self._write() as db:
            row = db.execute("UPDATE runs SET status = ?, attempts = attempts + 1, updated = ? WHERE id = ? RETURNING"
                             " attempts", (RunStatus.RUNNING, time.time(), run_id)).fetchall()  # all: the statement must end
        if not row:
            raise RunNotFoundError(f"no run '{run_id}' in {self.path}")
        return row[0][0]

    def finish_run(self, run_id: str, *, status: RunStatus, stop_reason: str | None, error: str | None,
                   seconds: float, result: dict[str, Any] | None) -> None:
        """Record how a run ended (``error`` runs stay resumable)."""
        with self._write() as db:
            db.execute("UPDATE runs SET status = ?, stop_reason = ?, error = ?, seconds = ?, result_json = ?, updated = ?"
                       " WHERE id = ?", (status, stop_reason, error, seconds,
                                         json.dumps(result) if result is not None else None, time.time(), run_id))
        self._histories.forget(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        """The run's row; ``RunNotFoundError`` if there is none."""
        row = self._db.execute("SELECT id, task_name, task_json, task_dir, models_json, seed, status, stop_reason,"
                               " error, seconds, result_json, created, attempts FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"no run '{run_id}' in {self.path}")
        return RunRecord(id=row[0], task_name=row[1], task=json.loads(row[2]), task_dir=row[3],
                         models=json.loads(row[4]), seed=row[5], status=RunStatus(row[6]), stop_reason=row[7],
                         error=row[8], seconds=row[9], result=json.loads(row[10]) if row[10] else None, created=row[11],
                         attempts=row[12])

    def turns(self, run_id: str) -> list[Turn]:
        """The run's finished turns in order, each with its whole messages however it was stored."""
        turns = self._read_turns(run_id)
        # a resume goes on from what it read: its next turns are diffed against these
        self._histories.forget(run_id)
        for turn in turns:
            self._histories.remember(run_id, turn)
        return turns

    def _read_turns(self, run_id: str) -> list[Turn]:
        rows = self._db.execute("SELECT seq, turn_json, base_seq FROM turns WHERE run_id = ? ORDER BY seq",
                                (run_id,)).fetchall()
        return decode(rows, json.loads)

    def list_runs(self, limit: int = 50, *, task: str | None = None, status: str | None = None) -> list[RunRecord]:
        """The most recent runs, newest first; only those of task ``task`` and status ``status`` when given."""
        where = " AND ".join(clause for clause, value in (("task_name = ?", task), ("status = ?", status)) if value is not None)
        params = [value for value in (task, status) if value is not None]
        ids = self._db.execute(f"SELECT id FROM runs {'WHERE ' + where if where else ''} ORDER BY created DESC, rowid DESC"
                               " LIMIT ?", (*params, limit)).fetchall()
        return [self.get_run(r[0]) for r in ids]

    def resolve(self, run_id: str) -> str:
        """``run_id`` itself, or for ``latest`` the newest run's id; ``RunNotFoundError`` if the store has none."""
        if run_id != LATEST:
            return run_id
        row = self._db.execute("SELECT id FROM runs ORDER BY created DESC, rowid DESC LIMIT 1").fetchone()
        if row is None:
            raise RunNotFoundError(f"no runs in {self.path}, so no 'latest'")
        return row[0]
