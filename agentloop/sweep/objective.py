"""A sweep over tasks with a scored objective (a ``score`` check): how good the submissions are.

pass@k needs hidden tests; a scored task is judged by its objective instead. Each run counts
its submission's score on the check's [0, 1] scale (its place between the check's ``bounds``,
1 the best end; a submission whose evaluator never ran scores 0), so tasks with different raw
scales average meaningfully, and whether any candidate reached the target. The unit of the
bootstrap is a run — a (task, seed) pair — and the difference to the sweep's first
configuration is paired over the pairs both configurations ran.
"""

from __future__ import annotations

from statistics import mean
from typing import Any

from .measures import RunFacts
from .stats import Bootstrap, Interval
from .tables import ci_text


def objective_rows(configs: list[str], runs: list[RunFacts], boot: Bootstrap | None = None) -> list[dict[str, Any]]:
    """Per configuration with scored runs: runs, mean submission score, target-reached share, and the
    paired difference in mean score to the first such configuration, each with its 95% interval."""
    boot = boot or Bootstrap()
    scored = {c: {(r.task, r.seed): r for r in runs if r.config == c and r.objective_score is not None} for c in configs}
    present = [c for c in configs if scored[c]]
    rows = []
    for c in present:
        mine = list(scored[c].values())
        base = scored[present[0]]
        shared = sorted(set(scored[c]) & set(base))
        diff = boot.mean([s - b for k in shared if (s := scored[c][k].objective_score) is not None
                          and (b := base[k].objective_score) is not None]) \
            if shared and c != present[0] else None
        rows.append({"configuration": c, "runs": len(mine),
                     "score": boot.mean([r.objective_score for r in mine if r.objective_score is not None]),
                     "reached": boot.mean([float(bool(r.reached)) for r in mine]),
                     "tokens_per_run": round(mean(r.tokens for r in mine), 1),
                     "versus": present[0] if diff is not None else None, "difference": diff, "pairs": len(shared)})
    return rows


def objective_section(rows: list[dict[str, Any]]) -> list[str]:
    """summary.md's table of the scored objective (nothing when no task had one)."""
    if not rows:
        return []
    lines = ["", "## Scored objective (the submission's `score` check, on its [0, 1] scale)", "",
             "| configuration | runs | mean score | target reached | tokens/run | paired difference |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        diff = (f"{ci_text(r['difference'])} vs {r['versus']} ({r['pairs']} pairs)" if r["difference"] is not None
                else "–")
        lines.append(f"| {r['configuration']} | {r['runs']} | {ci_text(r['score'])} | {ci_text(r['reached'])} | "
                     f"{r['tokens_per_run']:.0f} | {diff} |")
    lines += ["", "Intervals: 95% percentile bootstrap over runs (task × seed); the difference is paired over the "
                  "(task, seed) pairs both configurations ran, so an interval containing 0 means no detected difference."]
    return lines


def objective_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as plain data (intervals as ``{point, low, high}``)."""
    return [{k: v.to_dict() if isinstance(v, Interval) else v for k, v in r.items()} for r in rows]


def only_objective(runs: list[RunFacts]) -> bool:
    """Whether every run is of a scored task without hidden tests (pass-rate plots would be empty)."""
    return bool(runs) and all(r.objective_score is not None and r.hidden_passing is None for r in runs)


def draw_objective(plt, rows: list[dict[str, Any]], path) -> Any:
    """objective.png: each configuration's mean submission score with its 95% interval, and the share of
    runs reaching the target; the title names the budget everyone had."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs = list(range(len(rows)))
    for x, r in zip(xs, rows):
        ci = r["score"]
        ax.errorbar([x], [ci.point], yerr=[[ci.point - ci.low], [ci.high - ci.point]], fmt="o", capsize=6, ms=7)
        ax.annotate(f"{ci.point:.2f}\nreached {r['reached'].point:.0%}", (x, ci.high), textcoords="offset points",
                    xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xticks(xs, [r["configuration"] for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(-0.02, 1.12)
    ax.set_ylabel("submission score (the score check, [0, 1])")
    runs = sorted({r["runs"] for r in rows})
    tokens = ", ".join(f"{r['tokens_per_run']:.0f}" for r in rows)
    ax.set_title(f"scored objective, mean over {'/'.join(map(str, runs))} runs per configuration, 95% intervals\n"
                 f"tokens per run: {tokens}", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
