"""The sweep file: grid expansion, merging over the defaults, and bad files (exit 2, one line, nothing written)."""

from __future__ import annotations

import pytest
import yaml
from helpers import run_cli
from sweep_fixtures import sweep_doc, write_experiment

from agentloop.errors import TaskFileError
from agentloop.sweep import load_sweep, plan


def _write(folder, doc) -> str:
    write_experiment(folder)
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def test_grid_multiplies_out_strategy_parameters_and_budgets(tmp_path):
    doc = sweep_doc(configs=["single"])
    doc["configs"][0]["grid"] = {"strategy.max_turns": [1, 2, 3], "budget.max_tokens": [500, 900]}
    sweep = load_sweep(_write(tmp_path, doc))
    assert [c.name for c in sweep.configs] == [f"single[max_turns={t},max_tokens={b}]" for t in (1, 2, 3)
                                               for b in (500, 900)]
    assert [(c.strategy["max_turns"], c.budget["max_tokens"]) for c in sweep.configs] == [
        (t, b) for t in (1, 2, 3) for b in (500, 900)]
    assert all(c.strategy["critic"] is False and c.strategy["name"] == "refine" for c in sweep.configs)


def test_plan_is_seed_major_over_tasks_and_configurations_with_distinct_keys(tmp_path):
    doc = sweep_doc(configs=["single", "refine2"], seeds=[0, 1])
    doc["configs"][1]["budget"] = {"max_tokens": 999}  # a configuration's own budget overrides the sweep's
    jobs, tasks = plan(load_sweep(_write(tmp_path, doc)))
    assert [t.name for t in tasks] == ["double", "neg"]
    assert [(j.seed, j.task_name, j.config) for j in jobs] == [
        (s, t, c) for s in (0, 1) for t in ("double", "neg") for c in ("single", "refine2")]
    assert len({j.key for j in jobs}) == len(jobs)
    assert {j.task_data["budget"]["max_tokens"] for j in jobs if j.config == "refine2"} == {999}
    assert {j.task_data["budget"]["max_tokens"] for j in jobs if j.config == "single"} == {4000}
    # placeholders filled per task and seed, as absolute paths
    job = next(j for j in jobs if (j.seed, j.task_name, j.config) == (1, "neg", "single"))
    assert job.task_data["models"]["default"] == f"scripted:{tmp_path / 'scripts' / 'single-neg-1.yaml'}"


def test_the_key_ignores_the_configuration_name(tmp_path):
    doc = sweep_doc(configs=["single"])
    first = plan(load_sweep(_write(tmp_path, doc)))[0]
    doc["configs"][0]["name"] = "renamed"
    second = plan(load_sweep(_write(tmp_path, doc)))[0]
    assert [j.key for j in first] == [j.key for j in second]


def _bad(doc_change):
    def make(folder):
        doc = sweep_doc()
        doc_change(doc)
        return doc
    return make


BAD = [
    ("unknown top-level key", lambda d: d.update(seedz=[1]), "seedz: unknown key"),
    ("strategy parameter typo", lambda d: d["configs"][0]["strategy"].update(max_turnz=2),
     "configs[0].strategy.max_turnz: unknown key"),
    ("unknown strategy", lambda d: d["configs"][1]["strategy"].update(name="nope"),
     "configs[1].strategy.name: unknown strategy 'nope'"),
    ("bad budget", lambda d: d["configs"][0].update(budget={"max_tokens": -1}), "configs[0].budget.max_tokens"),
    ("missing configs", lambda d: d.pop("configs"), "configs: required key is missing"),
    ("unknown model scheme", lambda d: d.update(models={"default": "nope:x"}), "models.default: unknown model URI"),
    ("missing scripted file", lambda d: d["configs"][0].update(models={"default": "scripted:missing-{seed}.yaml"}),
     "configs.single.models"),
    ("bad grid key", lambda d: d["configs"][0].update(grid={"temperature": [1]}), "configs[0].grid"),
    ("repeated seeds", lambda d: d.update(seeds=[1, 1]), "seeds: seeds repeat"),
    ("unknown suite", lambda d: d.update(suite="no-such-suite"), "suite: 'no-such-suite' is not a built-in suite"),
    ("unknown task name", lambda d: d.update(tasks=["nope"]), "tasks: no task 'nope'"),
    ("unknown role of a model variant", lambda d: d["configs"][0]["models"].update({"refinr.big": "scripted:x.yaml"}),
     "configs[0].models.refinr.big: unknown role 'refinr.big'"),
    ("unknown role of a sweep-wide variant", lambda d: d.update(models={"solver.x.y": "scripted:x.yaml"}),
     "unknown role 'solver.x.y'"),
]


@pytest.mark.parametrize(("why", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_sweep_file_is_one_line_exit_2_and_writes_nothing(tmp_path, why, change, message):
    doc = sweep_doc()
    change(doc)
    path = _write(tmp_path, doc)
    proc = run_cli("sweep", path, "--out", "out", "--store", "s.db", cwd=tmp_path)
    assert proc.returncode == 2, (why, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "grid.yaml" in lines[0] or "tasks.jsonl" in lines[0], lines[0]
    assert message in lines[0], lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.db").exists()


def test_a_task_without_hidden_tests_cannot_be_swept(tmp_path):
    path = _write(tmp_path, sweep_doc())
    lines = (tmp_path / "suite" / "tasks.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"hidden_tests"', '"_unused"').replace(', "_unused": ', ', "starter": ')
    (tmp_path / "suite" / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(TaskFileError, match=r"tasks.jsonl:2.*hidden_tests: a sweep scores on tests the loop never sees"):
        plan(load_sweep(path))


def test_bad_executor_flag_is_exit_2(tmp_path):
    path = _write(tmp_path, sweep_doc())
    proc = run_cli("sweep", path, "--out", "out", "--executor", "slurm", cwd=tmp_path)
    assert proc.returncode == 2 and "--executor: expected local or ray" in proc.stderr


def test_role_name_model_keys_reach_every_run_as_in_task_files(tmp_path):
    doc = sweep_doc(configs=["single", "refine2"])
    doc["models"] = {"refiner.wide": "scripted:scripts/single-neg-0.yaml"}  # sweep-wide: every configuration
    doc["configs"][1]["models"]["refiner.big"] = "scripted:scripts/refine2-{task}-{seed}.yaml"
    jobs, _ = plan(load_sweep(_write(tmp_path, doc)))
    job = next(j for j in jobs if (j.seed, j.task_name, j.config) == (1, "double", "refine2"))
    assert job.task_data["models"]["refiner.big"] == f"scripted:{tmp_path / 'scripts' / 'refine2-double-1.yaml'}"
    assert all(j.task_data["models"]["refiner.wide"] == f"scripted:{tmp_path / 'scripts' / 'single-neg-0.yaml'}"
               for j in jobs)
    assert all(j.task().models["refiner.wide"] for j in jobs)  # the run's task accepts them too
