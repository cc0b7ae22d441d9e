"""The library entry points (SPEC §5): ``run``, ``arun``, ``resume``, ``aresume``, ``load_run``.

Everything that starts or resumes a run goes through here (the CLI, ``wrap``, the sweep's
executors), so the orchestrator has one caller and its options one documented surface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .core.status import RunStatus
from .engine.orchestrator import EventSink, execute
from .engine.runlock import RunLock
from .errors import ModelURIError, TaskFileError
from .models import Model, ModelPool, normalize_uri
from .store import Store
from .store.graph import TurnGraph
from .store.result import RunResult
from .task import Task, known_roles


def resolve_models(task: Task, model: str | None = None) -> dict[str, str]:
    """The normalized model URI of every role: ``model`` (like ``--model``) overrides them all.

    URIs from the task file resolve relative paths against the task's folder; ``model`` against
    the current folder. A bad URI is an ``InputError`` naming where it came from.
    """
    if model is not None:
        return {"default": normalize_uri(model, None)}
    out = {}
    for role, uri in task.models.items():
        try:
            out[role] = normalize_uri(uri, task.source_dir)
        except ModelURIError as exc:
            raise TaskFileError(task.source_label, f"models.{role}", str(exc)) from None
    return out


def _open_store(store: Store | str | Path | None, *, create: bool = True) -> tuple[Store, bool]:
    return (store, False) if isinstance(store, Store) else (Store(store, create=create), True)


ModelChoice = str | Model | Mapping[str, str | Model]
Validator = Callable[[str], Any]


def _chosen_models(task: Task, model: ModelChoice | None, pool: ModelPool | None) -> tuple[dict[str, str], ModelPool | None]:
    """The URI of each role's model, and the pool that holds the model objects among them."""
    if model is None or isinstance(model, str):
        return resolve_models(task, model), pool
    chosen = model if isinstance(model, Mapping) else {"default": model}
    if "default" not in chosen:
        raise ValueError(f"a model per role needs a 'default' entry (got {', '.join(chosen)})")
    known_roles(dict(chosen), variants=True)  # as in a task file: a misspelt role is an error, not ignored
    pool = pool or ModelPool()  # a model object (ScriptedModel([...]), your own backend) goes in the pool
    return {role: normalize_uri(m, None) if isinstance(m, str) else pool.add(m) for role, m in chosen.items()}, pool


async def arun(task: Task, model: ModelChoice | None = None, *, store: Store | str | Path | None = None,
               seed: int | None = None, on_event: EventSink | None = None, pool: ModelPool | None = None,
               stop_signals: tuple[int, ...] = (), validators: Sequence[Validator] = ()) -> RunResult:
    """Run ``task`` to the end and return its result; every turn is stored as it finishes.

    ``model`` is a model URI for every role (like ``--model``), a model object such as
    ``ScriptedModel([...])`` (a run made with an in-memory model can be shown, not resumed), or
    a mapping of role to either, with a ``default`` entry (``{"default": ..., "critic": ...}``).

    Pass one ``ModelPool`` to several runs to load each model once and share it between them.
    With ``stop_signals`` (e.g. ``agentloop.engine.signals.STOP_SIGNALS``, main thread only) the first
    such signal stops the run cleanly with status ``interrupted``. ``validators`` are Python
    functions of a candidate's text, run as extra checks after the task's own (``wrap``'s
    ``validators``); they cannot be stored, so a resumed run checks without them.
    """
    models, pool = _chosen_models(task, model, pool)  # before the store: bad input must write nothing
    db, owned = _open_store(store)
    try:
        return await execute(task, store=db, models=models, seed=seed, on_event=on_event, pool=pool,
                             stop_signals=stop_signals, validators=tuple(validators))
    finally:
        if owned:
            db.close()


def run(task: Task, model: ModelChoice | None = None, *, store: Store | str | Path | None = None,
        seed: int | None = None, on_event: EventSink | None = None, pool: ModelPool | None = None,
        stop_signals: tuple[int, ...] = (), validators: Sequence[Validator] = ()) -> RunResult:
    """Blocking ``arun``."""
    return asyncio.run(arun(task, model, store=store, seed=seed, on_event=on_event, pool=pool,
                            stop_signals=stop_signals, validators=validators))


def load_run(run_id: str, *, store: Store | str | Path | None = None) -> tuple[dict, RunResult | None, TurnGraph]:
    """A stored run (``latest``: the newest): its record as a dict, its result if it finished, and its graph of turns."""
    db, owned = _open_store(store, create=False)
    try:
        run_id = db.resolve(run_id)
        record, turns = db.get_run(run_id), db.turns(run_id)
    finally:
        if owned:
            db.close()
    graph = TurnGraph.from_turns(turns)
    result = RunResult.from_json(record.result, graph) if record.result and record.status != RunStatus.ERROR else None
    return record.to_dict(), result, graph


async def aresume(run_id: str, *, store: Store | str | Path | None = None, on_event: EventSink | None = None,
                  stop_signals: tuple[int, ...] = (), pool: ModelPool | None = None) -> RunResult:
    """Continue a stored run (``latest``: the newest) from its last finished turn (a finished run just returns its result).

    ``RunActiveError`` when another live process is running or resuming it (it holds the run's lock).
    ``pool``: as ``arun``'s, the models already loaded (the sweep passes its shared one).
    """
    db, owned = _open_store(store, create=False)
    try:
        run_id = db.resolve(run_id)
        db.get_run(run_id)  # an unknown run is bad input: nothing is locked or written for it
        return await _resume_stored(db, run_id, pool=pool, on_event=on_event, stop_signals=stop_signals)
    finally:
        if owned:
            db.close()


async def _resume_stored(db: Store, run_id: str, *, pool: ModelPool | None, on_event: EventSink | None,
                         stop_signals: tuple[int, ...]) -> RunResult:
    """Under the run's lock, continue the stored run.

    The record is read again under the lock: another process may just have finished it, and then
    its stored result is returned. ``RunActiveError`` when another live process holds the lock.
    """
    with RunLock(db.path, run_id):
        record = db.get_run(run_id)
        if record.status.finished and record.result is not None:
            return RunResult.from_json(record.result, TurnGraph.from_turns(db.turns(run_id)))
        task = Task.from_dict(record.task, base_dir=record.task_dir, label=f"run {run_id}")
        return await execute(task, store=db, models=record.models, seed=record.seed, run_id=run_id,
                             on_event=on_event, pool=pool, stop_signals=stop_signals)


def resume(run_id: str, *, store: Store | str | Path | None = None, on_event: EventSink | None = None,
           stop_signals: tuple[int, ...] = (), pool: ModelPool | None = None) -> RunResult:
    """Blocking ``aresume``."""
    return asyncio.run(aresume(run_id, store=store, on_event=on_event, stop_signals=stop_signals, pool=pool))
