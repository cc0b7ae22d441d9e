"""The ``agentloop`` command (SPEC §2). Wiring only: parse options, call the library, print, exit.

Exit codes: 0 solved, 1 unsolved, 2 bad input (one line naming the file and field), 3 any other
failure (one line; the run stays resumable).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import typer

from .api import load_run, resume, run
from .core.status import RunStatus
from .engine.signals import STOP_SIGNALS, quiet_cancellation_noise
from .errors import AgentloopError, InputError, RunNotFoundError
from .store import Store
from .store.result import RunResult
from .task import Task
from .views.showing import format_event, format_run, run_json, runs_json, runs_table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Critique-and-refine loops over a graph of turns, checked by real feedback.")

RUN_STATUSES = tuple(RunStatus)
StoreOpt = typer.Option(None, "--store", help="SQLite store (default $AGENTLOOP_STORE or .agentloop/agentloop.db).")


def _fail(code: int, message: str) -> NoReturn:
    typer.echo(f"agentloop: {' '.join(message.split())}", err=True)  # one line, always
    raise typer.Exit(code)


def _guard(body: Callable[[], Any]) -> Any:
    try:
        return body()
    except (InputError, RunNotFoundError) as exc:
        _fail(2, str(exc))
    except AgentloopError as exc:
        _fail(3, str(exc))
    except KeyboardInterrupt:
        _fail(3, "interrupted; continue with `agentloop resume RUN_ID`")
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's contract is one line and exit 3, never a traceback
        _fail(3, f"internal error: {type(exc).__name__}: {exc}")


def _progress(event: dict) -> None:
    line = format_event(event)
    if line:
        typer.echo(line, err=True)


def _finish(result: RunResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    else:
        typer.echo(format_run(result))
    status = RunStatus(result.status)
    if not status.finished:
        why = "interrupted" if status is RunStatus.INTERRUPTED else " ".join((result.error or "error").split())
        typer.echo(f"agentloop: {why}; continue with `agentloop resume {result.run_id}`", err=True)
    raise typer.Exit(status.exit_code)


@app.command("run")
def run_cmd(task_file: Path = typer.Argument(..., metavar="TASK.yaml", help="The task file."),
            model: str | None = typer.Option(None, "--model", help="Model URI for every role."),
            set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Override a task key."),
            store: Path | None = StoreOpt,
            seed: int | None = typer.Option(None, "--seed", help="Sampling seed."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout.")) -> None:
    """Run one task."""
    def body() -> RunResult:
        task = Task.from_yaml(task_file, overrides=set_)
        return run(task, model, store=store, seed=seed, on_event=_progress, stop_signals=STOP_SIGNALS)
    _finish(_guard(body), as_json)


@app.command("resume")
def resume_cmd(run_id: str = typer.Argument(..., metavar="RUN_ID", help="A run id, or `latest`."), store: Path | None = StoreOpt,
               as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout.")) -> None:
    """Continue an interrupted run from its last finished turn."""
    _finish(_guard(lambda: resume(run_id, store=store, on_event=_progress, stop_signals=STOP_SIGNALS)), as_json)


@app.command("show")
def show_cmd(run_id: str = typer.Argument(..., metavar="RUN_ID", help="A run id, or `latest`."), store: Path | None = StoreOpt,
             as_json: bool = typer.Option(False, "--json", help="Print every turn as JSON.")) -> None:
    """Show the graph of turns of a stored run."""
    record, result, graph = _guard(lambda: load_run(run_id, store=store))
    typer.echo(json.dumps(run_json(record, graph)) if as_json else format_run(result, record=record, graph=graph))


@app.command("runs")
def runs_cmd(store: Path | None = StoreOpt,
             task: str | None = typer.Option(None, "--task", metavar="NAME", help="Only runs of this task."),
             status: str | None = typer.Option(None, "--status", metavar="STATUS",
                                               help="Only runs with this status (running, solved, unsolved, error, interrupted)."),
             limit: int = typer.Option(50, "--limit", min=1, help="At most this many runs."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON array.")) -> None:
    """List stored runs, newest first (RUN_ID `latest` names the first)."""
    if status is not None and status not in RUN_STATUSES:
        _fail(2, f"--status: unknown status '{status}' (one of {', '.join(RUN_STATUSES)})")

    def body() -> list:
        db = Store(store, create=False)
        try:
            return db.list_runs(limit, task=task, status=status)
        finally:
            db.close()
    records = _guard(body)
    typer.echo(json.dumps(runs_json(records)) if as_json else runs_table(records))


@app.command("report")
def report_cmd(run_id: str | None = typer.Argument(None, metavar="RUN_ID"),
               out: Path = typer.Option(..., "-o", "--output", metavar="FILE.html", help="Where to write the page."),
               sweep: Path | None = typer.Option(None, "--sweep", metavar="DIR",
                                                 help="A sweep's --out folder: its table and plots, instead of a run."),
               store: Path | None = StoreOpt) -> None:
    """Write one self-contained HTML page of a stored run (graph, prompts, outputs, diffs, feedback), or of a sweep."""
    from .report import write_report  # jinja2 and the page's assets load only for this command
    from .report.sweep_page import write_sweep_report

    if sweep is not None and run_id is None:
        path = _guard(lambda: write_sweep_report(sweep, out))
    elif run_id is not None and sweep is None:
        path = _guard(lambda: write_report(run_id, out, store=store))
    else:
        _fail(2, "report: give either RUN_ID or --sweep DIR")
    typer.echo(f"wrote {path}", err=True)


@app.command("export")
def export_cmd(run_ids: list[str] | None = typer.Argument(None, metavar="[RUN_ID]...", help="Runs (default: all)."),
               fmt: str = typer.Option(..., "--format", metavar="sft|dpo|critique", help="What to export."),
               out: Path = typer.Option(..., "-o", "--output", metavar="FILE.jsonl", help="Where to write the lines."),
               min_score: float | None = typer.Option(None, "--min-score", help="Only examples whose target "
                                                         "candidate (solution, chosen, refined) scored at least this."),
               store: Path | None = StoreOpt) -> None:
    """Write training data (SFT conversations, DPO pairs, critique records) from stored runs as JSONL."""
    from .views.export import export

    count = _guard(lambda: export(fmt, run_ids or [], out, store=store, min_score=min_score))
    typer.echo(f"wrote {count} {fmt} lines to {out}", err=True)

@app.command("sweep")
def sweep_cmd(sweep_file: Path = typer.Argument(..., metavar="SWEEP.yaml", help="The sweep file (SPEC §6)."),
              out: Path = typer.Option(..., "--out", help="Folder for results.csv, summary.md and plots."),
              executor: str = typer.Option("local", "--executor", help="local or ray."),
              address: str | None = typer.Option(None, "--address", help="Ray cluster address (ray://host:10001)."),
              store: Path | None = StoreOpt,
              all_tasks: bool = typer.Option(False, "--all-tasks", help="Ignore the file's `limit`: every task."),
              quiet: bool = typer.Option(False, "--quiet", help="No progress bar.")) -> None:
    """Run (or resume) an experiment grid over a suite; finished runs are reused."""
    from .sweep import sweep_command
    typer.echo(_guard(lambda: sweep_command(str(sweep_file), str(out), executor=executor, store=store,
                                            address=address, progress=not quiet, all_tasks=all_tasks)))


@app.command("plot")
def plot_cmd(results: Path = typer.Argument(..., metavar="RESULTS", help="A sweep's --out folder or its results.json."),
             out: Path | None = typer.Option(None, "--out", help="Where to write the PNGs (default: next to RESULTS).")) -> None:
    """Redraw a sweep's plots from its stored results."""
    from .sweep import plot_command
    for file in _guard(lambda: plot_command(str(results), str(out) if out else None)):
        typer.echo(file)


def main() -> None:
    """Console-script entry point."""
    quiet_cancellation_noise()
    app()


if __name__ == "__main__":
    main()
