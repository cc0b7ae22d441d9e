"""PNG plots of a sweep (matplotlib, Agg backend: no display needed).

Every curve of an estimate carries its 95% bootstrap interval over tasks as a shaded band.

- ``pass_at_k.png``: pass@k (solid) and pass^k (dashed) against k, one colour per configuration;
- ``coverage.png``: coverage against k, log scale, with the fitted exponentiated power law;
- ``pass_vs_<axis>.png``: pass rate had each run stopped after that much compute, for each compute
  axis the runs record (nominal tokens, evaluated tokens, model calls, seconds, FLOPs); the title
  names the axis the comparison equalises (where candidates were scored on the hidden tests);
- ``pass_by_turn.png``: pass rate had each run stopped after t candidates, for refine and tree;
- ``objective.png``: for tasks with a scored objective, each configuration's mean submission score
  (the pass-rate plots are left out when no task has hidden tests).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .aggregate import TURN_STRATEGIES, config_summary, pass_by_turn
from .intervals import AXES, SHORT, compute_curve, task_groups
from .objective import draw_objective, objective_rows, only_objective
from .report import Results
from .stats import Bootstrap, Interval


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


def _band(ax, xs: list[float], cis: list[Interval], **style) -> None:
    """A line through the point estimates and a shaded 95% interval around it."""
    line, = ax.plot(xs, [c.point for c in cis], **style)
    step = {"step": "post"} if style.get("drawstyle") == "steps-post" else {}
    ax.fill_between(xs, [c.low for c in cis], [c.high for c in cis], color=line.get_color(), alpha=0.15, lw=0, **step)


def draw(results: Results, out: Path) -> list[Path]:
    """Draw every plot the results support into ``out``; returns the files written."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    boot = Bootstrap()
    runs = {c.name: [r for r in results.runs if r.config == c.name] for c in results.configs}
    sums = {c.name: config_summary(c, runs[c.name], boot) for c in results.configs}
    groups = {c.name: task_groups(runs[c.name]) for c in results.configs}
    written = []
    rows = objective_rows([c.name for c in results.configs], results.runs, boot)
    if rows:
        written.append(draw_objective(plt, rows, out / "objective.png"))
    if only_objective(results.runs):  # no hidden tests anywhere: every pass-rate plot would be a flat zero
        return written
    fig, ax = _axes(plt, "pass@k (solid) and pass^k (dashed) against k, 95% intervals over tasks", "k (samples)",
                    "pass@k / pass^k", counts=True)
    for c in results.configs:
        pak, phk = sums[c.name].get("pass_at_k_ci", {}), sums[c.name].get("pass_hat_k", {})
        if pak:
            _band(ax, list(pak), list(pak.values()), marker="o", label=c.name)
            if len(phk) > 1:
                _band(ax, list(phk), list(phk.values()), ls="--", color=ax.lines[-1].get_color())
    ax.legend(fontsize=8) if ax.lines else ax.text(0.5, 0.5, "no runs", ha="center")
    written.append(_save(fig, out / "pass_at_k.png", plt))
    written.append(_coverage(plt, results, sums, out))
    for axis in AXES:
        label = SHORT[axis]
        curves = {c.name: compute_curve(groups[c.name], axis, boot) for c in results.configs}
        if axis not in ("tokens", "seconds") and not any(curves.values()):
            continue  # an axis no run recorded (FLOPs of a remote model) gets no empty plot
        fig, ax = _axes(plt, f"pass rate with every run stopped at the same spend\n(axis equalised: {label})",
                        f"{label} per sample")
        for c in results.configs:
            if points := curves[c.name]:
                _band(ax, [x for x, _ in points], [ci for _, ci in points], drawstyle="steps-post",
                      label=c.name)
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


def _coverage(plt, results: Results, sums: dict, out: Path) -> Path:
    """coverage.png: coverage against k (log scale) with intervals, and the fitted exp(a·k^b) dashed."""
    fig, ax = _axes(plt, "coverage against k, 95% intervals; dashed: fit exp(a·k^b) (Brown et al. 2024)",
                    "k (samples; log scale)", "coverage (hidden tests)")
    for c in results.configs:
        curve, fit = sums[c.name].get("coverage_curve"), sums[c.name].get("coverage_fit")
        if not curve:
            continue
        _band(ax, list(curve), list(curve.values()), marker="o", label=f"{c.name} (per {sums[c.name]['coverage_unit']})")
        if fit is not None:
            ks = [1 + (max(curve) - 1) * i / 50 for i in range(51)]
            ax.plot(ks, [fit.predict(k) for k in ks], ls="--", color=ax.lines[-1].get_color(),
                    label=f"fit a={fit.a:.2f}, b={fit.b:.2f}")
    if ax.lines:
        from matplotlib.ticker import ScalarFormatter
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())  # 1, 2, 4 rather than 2^0, 2^1, 2^2
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "candidates not scored", ha="center")
    return _save(fig, out / "coverage.png", plt)
