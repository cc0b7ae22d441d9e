"""Per-configuration statistics with 95% bootstrap intervals over tasks (see ``stats``).

Every function takes one configuration's runs grouped by task (``task_groups``: tasks in name
order, seeds in order), so the same results always resample the same way, and two
configurations over the same tasks are resampled identically (their difference is paired).

- ``pass_curves``: pass@k (Chen et al. 2021) and pass^k (all k succeed; Yao et al. 2024) per k.
- ``coverage_curve``: the share of tasks some of k samples solve (Brown et al. 2024), with the
  exponentiated power-law fit. The unit of sampling is the candidate for strategies whose
  candidates are independent draws (``best_of_n``, ``codet``, every run with one candidate), so
  k runs up to the candidates pooled per task; for the others a sample is a whole run (a seed),
  counted as solved when any of its candidates passes the hidden tests.
- ``visible_false_passes``: among candidates passing every visible check, the share failing the
  hidden tests (1 - the visible checks' precision). Imperfect visible checks cap what resampling
  and selection can reach (Stroebl et al. 2024, "Inference Scaling fLaws", arXiv:2411.17501).
- ``at_budget`` / ``compute_curve``: pass rate had every run stopped at the same spend on one
  compute axis; ``AXES`` names each axis, and every such comparison states the one it equalises.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from .measures import RunFacts, pass_at_k, value_at
from .stats import Bootstrap, CoverageFit, Interval, fit_coverage, pass_hat_k

INDEPENDENT = ("best_of_n", "codet")  # strategies whose candidates are independent samples of the solver

# compute axes: RunFacts attribute (the run's total) and curve Point attribute -> what it counts
AXES = {
    "tokens": "nominal tokens (prompt + completion)",
    "evaluated_tokens": "evaluated tokens (prompt tokens not served from the KV cache + completion)",
    "model_calls": "model calls",
    "seconds": "wall seconds",
    "flops": "FLOPs (2 x parameters x evaluated tokens)",
}
SHORT = {"tokens": "nominal tokens", "evaluated_tokens": "evaluated tokens", "model_calls": "model calls",
         "seconds": "wall seconds", "flops": "FLOPs"}  # for plot labels


def task_groups(runs: list[RunFacts]) -> list[list[RunFacts]]:
    """One configuration's runs grouped by task, tasks in name order, seeds in order."""
    groups: dict[str, list[RunFacts]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.task, r.seed)):
        groups[run.task].append(run)
    return [groups[t] for t in sorted(groups)]


def pass_curves(groups: list[list[RunFacts]], boot: Bootstrap) -> dict[str, dict[int, Interval]]:
    """pass@k and pass^k, k = 1 … the samples every task has, each with its interval."""
    if not groups:
        return {"pass_at_k": {}, "pass_hat_k": {}}
    counts = [(len(g), sum(r.passed for r in g)) for g in groups]
    ks = range(1, min(n for n, _ in counts) + 1)
    return {"pass_at_k": {k: boot.mean([pass_at_k(n, c, k) for n, c in counts]) for k in ks},
            "pass_hat_k": {k: boot.mean([pass_hat_k(n, c, k) for n, c in counts]) for k in ks}}


def coverage_curve(strategy: str, groups: list[list[RunFacts]], boot: Bootstrap
                   ) -> tuple[str, dict[int, Interval], CoverageFit | None] | None:
    """(unit of sampling, coverage@k with intervals, the fit), or None when candidates were not scored."""
    if not groups or any(r.any_passed is None or r.hidden_passing is None for g in groups for r in g):
        return None
    pooled = [(sum(r.candidates for r in g), sum(r.hidden_passing or 0 for r in g)) for g in groups]
    single = all(r.candidates <= 1 for g in groups for r in g)
    if (strategy in INDEPENDENT or single) and min(n for n, _ in pooled) >= 1:
        unit, counts = "candidate", pooled
    else:
        unit, counts = "sample", [(len(g), sum(bool(r.any_passed) for r in g)) for g in groups]
    ks = range(1, min(n for n, _ in counts) + 1)
    curve = {k: boot.mean([pass_at_k(n, c, k) for n, c in counts]) for k in ks}
    return unit, curve, fit_coverage({k: ci.point for k, ci in curve.items()})


def visible_false_passes(groups: list[list[RunFacts]], boot: Bootstrap) -> dict[str, Any] | None:
    """Candidates passing every visible check, how many of them fail the hidden tests, and that share."""
    if not groups or any(r.visible_only is None for g in groups for r in g):
        return None
    num = [sum(r.visible_only or 0 for r in g) for g in groups]
    den = [sum(r.visible_passing for r in g) for g in groups]
    share = boot.ratio(num, den)
    return {"visible_passing": sum(den), "hidden_failing": sum(num), "share": share}


def has_axis(runs: list[RunFacts], axis: str) -> bool:
    """Whether every run (and every point of its curve) records ``axis``."""
    return bool(runs) and all(getattr(r, axis, None) is not None for r in runs) and all(
        getattr(p, axis, None) is not None for r in runs for p in r.curve)


def _stopped_at(run: RunFacts, axis: str, x: float) -> float:
    return float(value_at(run.curve, run.passed, index=None, **{axis: x}))


def at_budget(groups: list[list[RunFacts]], axis: str, x: float, boot: Bootstrap) -> Interval | None:
    """Pass rate had every run stopped once it had spent ``x`` on ``axis`` (None: no curves to stop)."""
    if not groups or any(not r.curve and r.candidates for g in groups for r in g):
        return None
    return boot.mean([mean(_stopped_at(r, axis, x) for r in g) for g in groups])


def compute_curve(groups: list[list[RunFacts]], axis: str, boot: Bootstrap, points: int = 24
                  ) -> list[tuple[float, Interval]] | None:
    """``at_budget`` at ``points`` even steps up to the most any run spent on ``axis``."""
    runs = [r for g in groups for r in g]
    if not runs or not has_axis(runs, axis) or any(not r.curve for r in runs if r.candidates):
        return None
    top = max(getattr(r, axis) for r in runs)
    if top <= 0:
        return None
    out = []
    for i in range(1, points + 1):
        x = top * i / points
        ci = at_budget(groups, axis, x, boot)
        if ci is not None:
            out.append((x, ci))
    return out


def equal_compute(by_config: dict[str, list[list[RunFacts]]], boot: Bootstrap) -> list[dict[str, Any]]:
    """Per compute axis every configuration records: pass rate with each run stopped at the same spend.

    The spend is the largest every configuration reached (the smallest of their per-run maxima), so
    no configuration is credited with compute it did not use. Each row names the axis it equalises,
    and gives the paired difference to the best configuration at that spend (same tasks only).
    """
    rows: list[dict[str, Any]] = []
    runs = {c: [r for g in gs for r in g] for c, gs in by_config.items() if gs}
    if len(runs) < 2:
        return rows
    for axis, label in AXES.items():
        if not all(has_axis(rs, axis) for rs in runs.values()):
            continue
        x = min(max(getattr(r, axis) for r in rs) for rs in runs.values())
        maybe = {c: at_budget(by_config[c], axis, x, boot) for c in runs}
        rates = {c: ci for c, ci in maybe.items() if ci is not None}
        if x <= 0 or len(rates) < len(maybe):
            continue
        best = max(rates, key=lambda c: rates[c].point)
        for config, ci in rates.items():
            diff = _paired(by_config[config], by_config[best], axis, x, boot) if config != best else None
            rows.append({"axis": axis, "axis_label": label, "budget": x, "configuration": config, "pass": ci,
                         "best": config == best, "difference_to_best": diff})
    return rows


def _paired(a: list[list[RunFacts]], b: list[list[RunFacts]], axis: str, x: float, boot: Bootstrap) -> Interval | None:
    """Mean over tasks of (a - b) at the budget, tasks resampled together (None unless the tasks match)."""
    if [g[0].task for g in a] != [g[0].task for g in b]:
        return None
    return boot.mean([mean(_stopped_at(r, axis, x) for r in ga) - mean(_stopped_at(r, axis, x) for r in gb)
                      for ga, gb in zip(a, b)])
