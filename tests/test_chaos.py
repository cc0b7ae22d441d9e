"""Chaos, measured: sandbox workers and the orchestrator killed at random points during a sweep.

A sweep of 50 runs (5 tasks x 10 seeds, scripted models, two turns each: a wrong solution, then a
right refinement, every candidate checked by pytest in the sandbox and scored on hidden tests)
is started with ``agentloop sweep``; at random moments the test ``kill -9``s either the sandbox
worker (the zygote, as the OOM killer would: the runs whose checks were in flight end as
``error``) or the sweep process itself, then starts the sweep again, which resumes what is
unfinished. After every kill: the store passes ``PRAGMA integrity_check``, every turn stored
before is still stored unchanged (nothing finished is lost or rewritten), and no process of the
killed sweep outlives it by more than the sandbox's wall limit + 1 s. At the end every run is
finished with exactly its two expected turns, and every hidden verdict is right.

The default suite runs this once (seed ``AGENTLOOP_CHAOS_SEED``, default 7); ``--run-slow`` adds
a 100-run sweep with more kills. Each prints its counts (kills, resumes, runs, turns).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from procs import CliFactory, alive, descendants, describe, kill_all, sandboxed, zygote_of

WALL_LIMIT_S = 5  # each task's sandbox.timeout_s
NAMES = ["double", "triple", "inc", "neg", "square", "half", "dec", "cube", "twice_plus", "ident"]
BODIES = {"double": "2 * x", "triple": "3 * x", "inc": "x + 1", "neg": "-x", "square": "x * x", "half": "x // 2",
          "dec": "x - 1", "cube": "x ** 3", "twice_plus": "2 * x + 1", "ident": "x"}


def reply(name: str, body: str) -> str:
    return f"```python\ndef {name}(x):\n    return {body}\n```"


def write_sweep(folder: Path, tasks: int, seeds: int) -> Path:
    """A JSONL suite of ``tasks`` tasks, one script per task, and a sweep file over ``seeds`` seeds."""
    (folder / "scripts").mkdir(parents=True)
    lines = []
    for name in NAMES[:tasks]:
        body = BODIES[name]
        lines.append(json.dumps({
            "name": name, "prompt": f"Write {name}(x).", "entry_point": name,
            "feedback": [{"kind": "tests", "code": f"from solution import {name}\n"
                                                   f"def test_one(): assert {name}(3) == {eval(body, {'x': 3})}\n"}],
            "hidden_tests": f"from solution import {name}\ndef test_hidden(): assert {name}(7) == {eval(body, {'x': 7})}\n",
            "sandbox": {"timeout_s": WALL_LIMIT_S}}))
        wrong = reply(name, "None")
        (folder / "scripts" / f"{name}.yaml").write_text(yaml.safe_dump({"solver": [wrong],
                                                                        "refiner": [reply(name, body)]}))
    (folder / "suite.jsonl").write_text("\n".join(lines) + "\n")
    sweep = {"suite": "suite.jsonl", "seeds": list(range(seeds)), "score_candidates": True,
             "configs": [{"name": "refine2", "strategy": {"name": "refine", "max_turns": 2, "critic": False},
                          "models": {"default": "scripted:scripts/{task}.yaml"}}]}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    return folder / "sweep.yaml"


def snapshot(db: Path) -> tuple[dict[tuple[str, int], str], dict[str, str], str]:
    """Stored turns by (run, seq), run statuses, and the integrity check."""
    if not db.exists():
        return {}, {}, "ok"
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        try:
            turns = {(r, s): body for r, s, body in conn.execute("SELECT run_id, seq, turn_json FROM turns")}
            runs = dict(conn.execute("SELECT id, status FROM runs"))
        except sqlite3.OperationalError:  # killed before the tables were made
            return {}, {}, check
    return turns, runs, check


def chaos(clis: CliFactory, folder: Path, *, tasks: int, seeds: int, chaotic_starts: int, seed: int) -> dict:
    """Run the sweep to the end under kills; returns the counts."""
    sweep = write_sweep(folder, tasks, seeds)
    db = folder / "store.db"
    rng = random.Random(seed)
    counts = {"worker kills": 0, "runs ended as error by a worker kill": 0, "orchestrator kills": 0,
              "sweep starts": 0}
    seen_turns: dict[tuple[str, int], str] = {}
    errored: set[str] = set()
    for start in range(chaotic_starts + 20):
        counts["sweep starts"] += 1
        cli = clis("sweep", sweep.name, "--out", "out", "--store", str(db), "--quiet", cwd=folder)
        calm = start >= chaotic_starts
        while cli.proc.poll() is None:
            if calm:
                cli.wait_for(lambda: False, timeout=600)
                break
            cli.wait_for(lambda: False, timeout=rng.uniform(0.2, 2.0))
            if cli.proc.poll() is not None:
                break
            if rng.random() < 0.6:
                worker = zygote_of(cli.pid)
                if worker is not None:
                    os.kill(worker, signal.SIGKILL)
                    counts["worker kills"] += 1
                continue
            suspects = descendants(cli.pid) | sandboxed(cli.pid)
            cli.kill()
            counts["orchestrator kills"] += 1
            killed_at = time.monotonic()
            suspects |= sandboxed(cli.pid)
            if any(alive(p) for p in suspects):
                time.sleep(max(0.0, killed_at + WALL_LIMIT_S + 1 - time.monotonic()))
                left = [describe(p) for p in suspects if alive(p)]
                kill_all({p for p in suspects if alive(p)})
                assert not left, f"processes outlived the killed sweep: {left}"
            break
        code, _, err = cli.finish()
        deadline = time.monotonic() + WALL_LIMIT_S + 1
        while (left := [describe(p) for p in sandboxed(cli.pid) if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"processes outlived the sweep: {left}"
        turns, runs, check = snapshot(db)
        assert check == "ok"
        for key, body in seen_turns.items():
            assert turns.get(key) == body, f"turn {key} was lost or rewritten"
        seen_turns = turns
        errored |= {r for r, status in runs.items() if status == "error"}
        if code == 0 and len(runs) == tasks * seeds and all(s in ("solved", "unsolved") for s in runs.values()):
            break
    else:
        raise AssertionError("the sweep never completed")
    counts["runs ended as error by a worker kill"] = len(errored)
    counts["runs"], counts["turns"] = len(runs), len(turns)
    with sqlite3.connect(db) as conn:
        counts["runs resumed"] = conn.execute("SELECT COUNT(*) FROM runs WHERE attempts > 1").fetchone()[0]
        hidden = [json.loads(h) for (h,) in conn.execute("SELECT hidden_json FROM sweep_runs")]
    # every run: the wrong solver turn, then the right refinement; nothing lost, nothing twice
    by_run: dict[str, list[tuple[int, str, bool]]] = {}
    for (run, seq), body in sorted(turns.items()):
        turn = json.loads(body)
        by_run.setdefault(run, []).append((seq, turn["role"], all(f["passed"] for f in turn["feedback"])))
    assert len(by_run) == tasks * seeds
    assert all(t == [(1, "solver", False), (2, "refiner", True)] for t in by_run.values()), by_run
    assert set(runs.values()) == {"solved"}
    assert len(hidden) == tasks * seeds and all(h == {"t1": False, "t2": True} for h in hidden), hidden
    results = json.loads((folder / "out" / "results.json").read_text())
    assert len(results["runs"]) == tasks * seeds
    return counts


def test_chaos_sweep_50_runs(clis: CliFactory, tmp_path: Path):
    seed = int(os.environ.get("AGENTLOOP_CHAOS_SEED", "7"))
    counts = chaos(clis, tmp_path, tasks=5, seeds=10, chaotic_starts=6, seed=seed)
    print(f"chaos (seed {seed}):", counts)
    assert counts["runs"] == 50 and counts["turns"] == 100
    assert counts["worker kills"] >= 1 and counts["orchestrator kills"] >= 1


@pytest.mark.slow
def test_chaos_sweep_100_runs(clis: CliFactory, tmp_path: Path):
    seed = int(os.environ.get("AGENTLOOP_CHAOS_SEED", "7"))
    counts = chaos(clis, tmp_path, tasks=10, seeds=10, chaotic_starts=20, seed=seed)
    print(f"chaos (seed {seed}):", counts)
    assert counts["runs"] == 100 and counts["turns"] == 200
