"""Inference-time scaling experiments: a grid of strategies × parameters × models × seeds over a suite.

``run_sweep`` runs (or resumes) a sweep file and writes results.csv, summary.md, results.json and
PNG plots; ``pass_at_k`` is the unbiased estimator the summaries use. See docs/sweeps.md.
"""

from pathlib import Path

from .driver import plan, run_sweep
from .measures import pass_at_k
from .spec import load_sweep

__all__ = ["load_sweep", "pass_at_k", "plan", "plot_command", "run_sweep", "sweep_command"]


def sweep_command(sweep_file: str, out: str, *, executor: str, store: str | Path | None, address: str | None,
                  progress: bool, all_tasks: bool = False) -> str:
    """What ``agentloop sweep`` does; returns the text it prints (the summary)."""
    from ..errors import InputError
    if executor not in ("local", "ray"):
        raise InputError(f"--executor: expected local or ray, not '{executor}'")
    if address is not None and executor != "ray":
        raise InputError("--address: only with --executor ray")
    run_sweep(sweep_file, out, executor=executor, store=store, address=address, progress=progress,
              all_tasks=all_tasks)
    from pathlib import Path
    return (Path(out) / "summary.md").read_text(encoding="utf-8")


def plot_command(results: str, out: str | None) -> list[str]:
    """What ``agentloop plot`` does: redraw the plots from a sweep's results.json; returns the files."""
    from pathlib import Path

    from ..errors import InputError
    from .plots import draw
    from .report import read_results
    path = Path(results)
    try:
        data = read_results(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a sweep's results (results.json): {type(exc).__name__}: {exc}") from None
    target = Path(out) if out else (path if path.is_dir() else path.parent)
    return [str(p) for p in draw(data, target)]
