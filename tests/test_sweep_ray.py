"""The Ray executor gives the same results as the local one, on a local Ray instance."""

from __future__ import annotations

import csv
import sqlite3

import pytest
from sweep_fixtures import write_experiment

from agentloop.sweep import run_sweep

ray = pytest.importorskip("ray")


def _table(path):
    with path.open() as fh:
        return [{k: v for k, v in row.items() if k not in ("seconds", "wall_s")} for row in csv.DictReader(fh)]


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_matches_the_local_one(tmp_path, local_ray):
    sweep = write_experiment(tmp_path)
    local = run_sweep(sweep, tmp_path / "local", store=tmp_path / "local.db", progress=False)
    remote = run_sweep(sweep, tmp_path / "ray", executor="ray", store=tmp_path / "ray.db", progress=False)
    assert _table(tmp_path / "ray" / "results.csv") == _table(tmp_path / "local" / "results.csv")
    def key(r):
        return (r.config, r.task, r.seed)
    assert [(key(r), r.passed, r.tokens, r.candidates, r.curve and [p.passed for p in r.curve])
            for r in sorted(remote.runs, key=key)] == [
           (key(r), r.passed, r.tokens, r.candidates, r.curve and [p.passed for p in r.curve])
           for r in sorted(local.runs, key=key)]
    # the runs came back into the driver's store, turns and all, and a rerun reuses them
    con = sqlite3.connect(tmp_path / "ray.db")
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 12
    assert con.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 15
    con.close()
    again = run_sweep(sweep, tmp_path / "ray2", executor="ray", store=tmp_path / "ray.db", progress=False)
    assert sorted(r.run_id for r in again.runs) == sorted(r.run_id for r in remote.runs)
