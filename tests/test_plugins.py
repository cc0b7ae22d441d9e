"""Strategy plugins: a module with ``Params`` and ``run``, found next to the task or through an entry point."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from helpers import BAD_FIZZ, GOOD_FIZZ, REPO, assert_bad_input, cli_json, run_cli

# a strategy with a point: two samples at once, the better one submitted (an entry-point plugin below)
TWICE = textwrap.dedent('''\
    """``twice``: two solver samples at once; the run is solved when either passes."""
    from pydantic import BaseModel, ConfigDict, Field


    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        samples: int = Field(default=2, ge=1, le=8)


    async def run(run, params):
        turns = await run.sample("solver", params.samples)
        return "solved" if any(t.passed for t in turns) else "samples"
    ''')


def test_the_plugin_example_restarts_after_a_failed_repair(tmp_path):
    """examples/plugin-strategy: the strategy lives in the task's folder; a failed repair leads to a fresh start."""
    proc = run_cli("run", str(REPO / "examples" / "plugin-strategy" / "task.yaml"), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = cli_json(proc)
    assert out["status"] == "solved" and out["stop_reason"] == "solved" and out["hidden_tests"]["passed"]
    shown = cli_json(run_cli("show", "latest", "--json", cwd=tmp_path))
    assert [t["role"] for t in shown["turns"]] == ["solver", "critic", "refiner", "solver"]
    assert [t["parents"] for t in shown["turns"]][3] == []  # the fresh start builds on nothing
    # the feedback-kind plugin (tools/docstrings.py) judged every candidate: only the last is documented
    docs = [f for t in shown["turns"] for f in t["feedback"] if f["kind"] == "docstrings"]
    assert [f["passed"] for f in docs] == [False, False, True]
    assert docs[0]["details"]["undocumented"] == ["is_leap (line 1)"]


def _plugin_task(make_task, source: str, script: dict, **strategy) -> Path:
    path = make_task(script, strategy={"name": "mine", **strategy})
    (path.parent / "strategies").mkdir()
    (path.parent / "strategies" / "mine.py").write_text(source)
    return path


def test_a_plugin_params_validate_the_task_file(make_task, tmp_path):
    path = _plugin_task(make_task, TWICE, {"solver": [GOOD_FIZZ]}, samplez=3)
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml:", "strategy.samplez: unknown key")
    path = _plugin_task(make_task, TWICE, {"solver": [GOOD_FIZZ]}, samples=0)
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "strategy.samples", "greater than or equal to 1")
    assert not (tmp_path / ".agentloop").exists()


def test_unknown_and_incomplete_plugins_are_one_line_errors(make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]}, strategy={"name": "nowhere"})
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml:", "strategy.name",
                     "unknown strategy 'nowhere'", "strategies/nowhere.py")
    no_params = TWICE.replace("class Params(BaseModel)", "class Options(BaseModel)")
    assert_bad_input(run_cli("run", str(_plugin_task(make_task, no_params, {})), cwd=tmp_path),
                     "strategy.name", "mine.py does not define Params")
    sync_run = TWICE.split("async def run")[0] + "def run(run, params):\n    return 'solved'\n"
    assert_bad_input(run_cli("run", str(_plugin_task(make_task, sync_run, {})), cwd=tmp_path),
                     "strategy.name", "does not define run")
    broken = "import no_such_module_anywhere\n"
    assert_bad_input(run_cli("run", str(_plugin_task(make_task, broken, {})), cwd=tmp_path),
                     "strategy.name", "failed to import: ModuleNotFoundError")
    assert not (tmp_path / ".agentloop").exists()


def test_resume_finds_the_plugin_next_to_the_task_from_another_folder(make_task, tmp_path):
    """A run whose script ran out mid-way is resumed from elsewhere: the plugin comes from the stored task folder."""
    source = (REPO / "examples" / "plugin-strategy" / "strategies" / "restart.py").read_text()
    script = {"solver": [BAD_FIZZ], "critic": ["5 must give Buzz"], "refiner": [BAD_FIZZ]}
    path = _plugin_task(make_task, source, script, restarts=2, repairs=1)
    first = run_cli("run", str(path), "--json", "--store", str(tmp_path / "s.db"), cwd=tmp_path)
    assert first.returncode == 3 and "'solver' ran out of replies" in first.stderr  # the second start had none
    script["solver"].append(GOOD_FIZZ)
    (path.parent / "script.yaml").write_text(yaml.safe_dump(script))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = run_cli("resume", "latest", "--json", "--store", str(tmp_path / "s.db"), cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    out = cli_json(resumed)
    assert out["status"] == "solved" and out["turns"] == 4


def _dist(site: Path, name: str, module: str, source: str, entry: str = "twice") -> None:
    """An installed distribution as pip leaves it: the package and its dist-info with entry_points.txt."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text("")
    (site / name / f"{module}.py").write_text(source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[agentloop.strategies]\n{entry} = {name}.{module}\n")


def _cli(*args: str, cwd: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("AGENTLOOP_STORE", None)
    return subprocess.run([sys.executable, "-m", "agentloop.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_entry_point_plugin_runs_a_task_from_the_cli(make_task, tmp_path):
    """A distribution on the path that declares an ``agentloop.strategies`` entry point adds a strategy."""
    site = tmp_path / "site"
    _dist(site, "agentloop_twice", "strategy", TWICE)
    path = make_task({"solver": [BAD_FIZZ, GOOD_FIZZ]}, strategy={"name": "twice", "samples": 2})
    proc = _cli("run", str(path), "--json", cwd=tmp_path, site=site)
    assert proc.returncode == 0, proc.stderr
    out = cli_json(proc)
    assert out["status"] == "solved" and out["stop_reason"] == "solved" and out["turns"] == 2
    # without the distribution on the path the name is unknown: the plugin really came from the entry point
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "unknown strategy 'twice'")
    # and an entry point that does not lead to a strategy is a one-line error too
    broken = tmp_path / "broken"
    _dist(broken, "agentloop_broken", "strategy", "Params = None\n")
    assert_bad_input(_cli("run", str(path), cwd=tmp_path, site=broken), "strategy.name",
                     "entry point agentloop_broken.strategy does not define Params")


def test_a_sweep_accepts_a_plugin_and_validates_its_params(tmp_path):
    from sweep_fixtures import sweep_doc, write_experiment
    write_experiment(tmp_path)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "twice.py").write_text(TWICE)
    doc = sweep_doc(["single"], seeds=[0])
    doc["configs"][0]["strategy"] = {"name": "twice", "samples": 1}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = run_cli("sweep", "grid.yaml", "--out", "out", "--store", "s.db", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "results.csv").open() as fh:
        rows = {r["task"]: (r["samples"], r["passing"], r["candidates"]) for r in csv.DictReader(fh)}
    assert rows == {"double": ("1", "1", "1"), "neg": ("1", "0", "1")}  # seed 0's scripts: good double, bad neg
    doc["configs"][0]["strategy"] = {"name": "twice", "samplez": 1}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_bad_input(run_cli("sweep", "grid.yaml", "--out", "out2", cwd=tmp_path),
                     "grid.yaml", "configs[0].strategy.samplez: unknown key")


def test_an_entry_point_never_replaces_a_built_in_strategy(make_task, tmp_path):
    site = tmp_path / "site"
    _dist(site, "agentloop_shadow", "strategy", TWICE, entry="refine")
    path = make_task({"solver": [BAD_FIZZ], "critic": ["5 must give Buzz"], "refiner": [GOOD_FIZZ]})
    proc = _cli("run", str(path), "--json", cwd=tmp_path, site=site)
    assert proc.returncode == 0, proc.stderr
    assert cli_json(proc)["turns"] == 3  # refine's solver, critic, refiner: not the plugin's two samples
