"""``agentloop sweep``: plan the grid, run it with an executor, write the tables and plots.

The plan is seed-major (every task and configuration for the first seed, then the next), so a
sweep cut short by its overall budget still has the same number of samples for every pair.
Everything is validated before the first run starts: a bad sweep file, suite or task exits 2
with nothing written.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..api import resolve_models
from ..errors import TaskFileError
from ..store import Store
from ..task import Task
from .aggregate import ConfigInfo
from .jobs import Job
from .ledger import Ledger, run_key
from .progress import Tally
from .report import Results, write_all
from .spec import Config, Sweep, fill_models, load_sweep
from .suites import load_suite, select
from .suitetask import SuiteTask


def plan(sweep: Sweep, *, all_tasks: bool = False) -> tuple[list[Job], list[SuiteTask]]:
    """Every (seed, task, configuration) as a job, each task validated with the configuration applied.

    ``all_tasks`` ignores the file's ``limit``.
    """
    spec = sweep.spec
    tasks = select(load_suite(spec.suite, sweep.base_dir, sweep_path=sweep.path), names=spec.tasks,
                   limit=None if all_tasks else spec.limit, sweep_path=sweep.path)
    for task in tasks:
        scored = any(isinstance(f, dict) and f.get("kind") == "score" for f in task.data.get("feedback") or [])
        if not task.data.get("hidden_tests") and not scored:  # a score check's objective is measured instead
            raise TaskFileError(task.label, "hidden_tests", "a sweep scores on tests the loop never sees: "
                                                            "every task needs hidden_tests (or a score check)")
    jobs = []
    for seed in spec.seeds:
        for task in tasks:
            for config in sweep.configs:
                jobs.append(_job(sweep, task, config, seed))
    return jobs, tasks


def _job(sweep: Sweep, suite_task: SuiteTask, config: Config, seed: int) -> Job:
    data = copy.deepcopy(suite_task.data)
    data["strategy"] = dict(config.strategy)
    data["budget"] = {**data.get("budget", {}), **config.budget}
    if config.add_feedback:  # e.g. the trace kind on a suite's tasks; a task without feedback keeps its default compile
        data["feedback"] = [*data.get("feedback", [{"kind": "compile"}]), *copy.deepcopy(config.add_feedback)]
    sampling = data.get("sampling", {})
    data["sampling"] = {role: {**sampling.get(role, {}), **values} for role, values in
                        {**{r: {} for r in sampling}, **config.sampling}.items()}
    if config.models:
        try:
            data["models"] = fill_models(config.models, task=suite_task.name, seed=seed)
        except TaskFileError as exc:
            raise TaskFileError(sweep.path, f"configs.{config.name}.models", str(exc)) from None
    label = f"{suite_task.label} [configuration {config.name}]"
    base = str(suite_task.base_dir) if suite_task.base_dir else None
    task = Task.from_dict(data, base_dir=base, label=label)
    resolved = task.to_data()
    resolved["models"] = resolve_models(task)  # absolute URIs: the key must not depend on the folder run from
    return Job(key=run_key(resolved, base, resolved["models"], seed), task_name=task.name, config=config.name,
               seed=seed, task_data=resolved, base_dir=base, score_candidates=sweep.spec.score_candidates)


def _seen(tasks: list[SuiteTask]) -> dict[str, int]:
    """Visible check kinds and how many tasks carry each."""
    seen: dict[str, int] = {}
    for task in tasks:
        kinds = {f.get("kind", "?") for f in task.data.get("feedback", [{"kind": "compile"}])}
        for kind in sorted(kinds):
            seen[kind] = seen.get(kind, 0) + 1
    return seen


def run_sweep(path: str | Path, out: str | Path, *, executor: str = "local", store: str | Path | None = None,
              address: str | None = None, progress: bool = True, plots: bool = True,
              all_tasks: bool = False) -> Results:
    """Run (or resume) the sweep in ``path`` and write its results under ``out``."""
    sweep = load_sweep(path)
    jobs, tasks = plan(sweep, all_tasks=all_tasks)  # all input errors surface here, before anything is written
    if plots:
        from .plots import _pyplot
        _pyplot()  # a missing matplotlib is bad input too: fail before the first run
    db = Store(store)
    ledger = Ledger(db)
    try:
        with Tally(len(jobs), sweep.spec.total_budget, show=progress) as tally:
            if executor == "ray":
                from .ray_executor import run_ray
                run_ray(jobs, store=db, ledger=ledger, tally=tally, address=address,
                        concurrency=sweep.spec.concurrency)
            else:
                from .executors import run_local
                run_local(jobs, store=db, ledger=ledger, tally=tally, concurrency=sweep.spec.concurrency)
            stopped = tally.exhausted() if len(tally.facts) < len(jobs) else None
            facts = tally.facts
    finally:
        ledger.close()
        db.close()
    infos = [ConfigInfo(name=c.name, label=c.label, strategy=c.strategy["name"],
                        tie_break=c.strategy.get("tie_break", "latest")) for c in sweep.configs]
    results = Results(sweep=sweep.path, configs=infos, runs=facts, seen=_seen(tasks), tasks=len(tasks),
                      planned=len(jobs), stopped=stopped)
    out = Path(out)
    write_all(results, out)
    if plots:
        from .plots import draw
        draw(results, out)
    return results
