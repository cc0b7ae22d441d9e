"""PNG plots of a sweep (matplotlib, Agg backend: no display needed).

- ``pass_at_k.png``: pass@k against k, one line per configuration;
- ``pass_vs_tokens.png`` / ``pass_vs_seconds.png``: pass rate had each run stopped after that much
  compute, one line per configuration (where candidates were scored on the hidden tests);
- ``pass_by_turn.png``: pass rate had each run stopped after t candidates, for refine and tree.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .aggregate import TURN_STRATEGIES, config_summary, pass_by_compute, pass_by_turn
from .report import Results


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'agentloop[sweep]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path, plt) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _axes(plt, title: str, xlabel: str, ylabel: str = "pass rate (hidden tests)", *, counts: bool = False):
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if counts:  # k and turns are whole numbers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    return fig, ax


def draw(results: Results, out: Path) -> list[Path]:
    """Draw every plot the results support into ``out``; returns the files written."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    runs = {c.name: [r for r in results.runs if r.config == c.name] for c in results.configs}
    written = []
    fig, ax = _axes(plt, "pass@k against k (scored on hidden tests)", "k (samples)", "pass@k", counts=True)
    for c in results.configs:
        pak = config_summary(c, runs[c.name])["pass_at_k"] if runs[c.name] else {}
        if pak:
            ax.plot(list(pak), list(pak.values()), marker="o", label=c.name)
    ax.legend(fontsize=8) if ax.lines else ax.text(0.5, 0.5, "no runs", ha="center")
    written.append(_save(fig, out / "pass_at_k.png", plt))
    for axis, unit in (("tokens", "tokens spent per sample"), ("seconds", "seconds per sample")):
        fig, ax = _axes(plt, f"pass rate against {axis} (run stopped at that point)", unit)
        for c in results.configs:
            curve = pass_by_compute(runs[c.name], axis)
            if curve:
                ax.plot([x for x, _ in curve], [y for _, y in curve], drawstyle="steps-post", label=c.name)
        ax.legend(fontsize=8) if ax.lines else ax.text(0.5, 0.5, "candidates not scored", ha="center")
        written.append(_save(fig, out / f"pass_vs_{axis}.png", plt))
    fig, ax = _axes(plt, "pass rate by turn (run stopped after t candidates)", "candidates (turn)", counts=True)
    for c in results.configs:
        curve = pass_by_turn(runs[c.name]) if c.strategy in TURN_STRATEGIES else None
        if curve:
            ax.plot([t for t, _ in curve], [y for _, y in curve], marker="o", label=c.name)
    ax.legend(fontsize=8) if ax.lines else ax.text(0.5, 0.5, "no refine/tree runs", ha="center")
    written.append(_save(fig, out / "pass_by_turn.png", plt))
    return written
