"""The sweep ledger: which stored run answers which (task, configuration, seed), by content key.

A table of its own (``sweep_runs``) in the store's SQLite file, made by the store's migrations like
every other table, so a ledger is opened on a ``Store``. The key is a hash of everything that
decides a run — the resolved task (prompt, checks, hidden tests, strategy, budget, sampling), its
folder, the models and the seed — so a resumed sweep finds its finished runs, and a second sweep
that shares a configuration reuses them instead of paying for them again. ``hidden_json`` holds the hidden-test verdict of
every candidate of the run (scored after the run ended, never shown to an agent).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from typing import Any

from ..store import Store


def run_key(task_data: dict[str, Any], base_dir: str | None, models: dict[str, str], seed: int | None) -> str:
    """The content key of one run: equal inputs, equal key, whatever the configuration is called."""
    blob = json.dumps({"task": task_data, "dir": base_dir, "models": models, "seed": seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Ledger:
    """Key → run id (and per-candidate hidden verdicts), in the store's database file."""

    def __init__(self, store: Store) -> None:
        # a connection of its own to the store's file, whose migrations made the table
        self._db = sqlite3.connect(store.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=30000")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def lookup(self, key: str) -> tuple[str, dict[str, bool] | None] | None:
        """The run id recorded for ``key`` and its candidates' hidden verdicts (None until scored)."""
        row = self._db.execute("SELECT run_id, hidden_json FROM sweep_runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]) if row[1] else None

    def record(self, key: str, run_id: str, *, task: str, config: str, seed: int | None) -> None:
        """Remember that ``run_id`` answers ``key`` (written as soon as the run exists)."""
        self._db.execute("INSERT OR REPLACE INTO sweep_runs (key, run_id, task_name, config, seed, created)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (key, run_id, task, config, seed, time.time()))

    def scored(self, key: str, hidden: dict[str, bool]) -> None:
        """Store the hidden-test verdict of each candidate (turn id → passed)."""
        self._db.execute("UPDATE sweep_runs SET hidden_json = ? WHERE key = ?", (json.dumps(hidden), key))

    def unscore(self, key: str) -> None:
        """Forget the verdicts of ``key`` (its run is about to go on, so they no longer describe it)."""
        self._db.execute("UPDATE sweep_runs SET hidden_json = NULL WHERE key = ?", (key,))
