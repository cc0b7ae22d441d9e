"""From runs to tables: per (configuration, task) rows, per-configuration summaries and curves.

Everything here works on ``RunFacts`` alone, so ``agentloop plot`` redraws from results.json
exactly what ``agentloop sweep`` drew.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from statistics import mean
from typing import Any

from ..core.status import RunStatus
from .intervals import AXES, coverage_curve, pass_curves, task_groups, visible_false_passes
from .measures import RunFacts, pass_at_k, value_at
from .stats import Bootstrap

TURN_STRATEGIES = ("refine", "tree", "reflexion", "magicore")  # turn by turn: pass rate by turn is drawn

# strategies whose submission is not simply "the candidate": the label says how it was picked
_PICKS = {"best_of_n": "best of the candidates by the visible checks",
          "tree": "best node of the search by the visible checks",
          "codet": "visible checks, ties broken by agreement with model-written tests (CodeT)",
          "magicore": "visible checks, then majority vote among passing samples",
          "refine": "best refinement by the visible checks",
          "reflexion": "best attempt by the visible checks"}


@dataclass(frozen=True)
class ConfigInfo:
    """What a configuration is, for labels: its name, strategy label and strategy name."""

    name: str
    label: str
    strategy: str
    tie_break: str = "latest"  # best_of_n / tree: how ties on the visible checks were broken

    def to_dict(self) -> dict[str, str]:
        """Plain data (results.json)."""
        return asdict(self)


def by_config_task(runs: list[RunFacts]) -> dict[tuple[str, str], list[RunFacts]]:
    """Runs grouped by (configuration, task), seeds in order."""
    groups: dict[tuple[str, str], list[RunFacts]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r.seed):
        groups[(run.config, run.task)].append(run)
    return groups


def task_rows(runs: list[RunFacts], configs: list[ConfigInfo]) -> list[dict[str, Any]]:
    """One row per configuration × task (results.csv)."""
    groups = by_config_task(runs)
    order = {c.name: i for i, c in enumerate(configs)}
    rows = []
    info = {c.name: c for c in configs}
    for (config, task), group in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 1 << 30), kv[0][1])):
        oracle = [r.any_passed for r in group]
        picked = picked_by(info[config], group) if config in info else ""
        costs = [r.cost_usd for r in group if r.cost_usd is not None]
        rows.append({"configuration": config, "task": task, "samples": len(group),
                     "passing": sum(r.passed for r in group),
                     "pass_rate": round(pass_at_k(len(group), sum(r.passed for r in group), 1), 4),
                     "picked_by": picked,
                     "any_candidate_passes": "" if None in oracle else int(any(oracle)),
                     "candidates": sum(r.candidates for r in group),
                     "prompt_tokens": sum(r.prompt_tokens for r in group),
                     "completion_tokens": sum(r.completion_tokens for r in group),
                     "tokens": sum(r.tokens for r in group),
                     "evaluated_tokens": sum(r.evaluated_tokens for r in group),
                     "model_calls": sum(r.model_calls for r in group),
                     "seconds": round(sum(r.seconds for r in group), 3),
                     "wall_s": round(sum(r.wall_s for r in group), 3),
                     "flops": _sum_or_blank([r.flops for r in group]),
                     "cost_usd": round(sum(costs), 6) if costs else "",
                     "errors": sum(r.status == RunStatus.ERROR for r in group)})
    return rows


def _sum_or_blank(values: list[float | None]) -> float | str:
    """The sum, or "" when any value is unknown (a partial sum would understate the compute)."""
    known = [v for v in values if v is not None]
    return "" if not values or len(known) < len(values) else float(f"{sum(known):.4g}")


def picked_by(info: ConfigInfo, runs: list[RunFacts]) -> str:
    """Short form of ``selection``: ``none`` only when no run made more than one candidate."""
    most = max((r.candidates for r in runs), default=0)
    if most <= 1:
        return "none"
    model = info.strategy == "codet" or any(r.model_tests for r in runs)
    ties = f", ties by {info.tie_break}" if info.tie_break != "latest" else ""
    inputs = " + model-written inputs" if any(r.model_inputs for r in runs) else ""
    return f"visible checks{' + model-written tests' if model else ''}{inputs}{ties} (<= {most} candidates)"


def selection(info: ConfigInfo, runs: list[RunFacts]) -> str:
    """How the submitted candidate was chosen, so a number cannot pass as the model's pass@1."""
    most = max((r.candidates for r in runs), default=0)
    if most <= 1:
        return "single candidate (no selection)"
    how = _PICKS.get(info.strategy, "the strategy's own pick by the visible checks")
    extra = "; model-written tests took part" if any(r.model_tests for r in runs) and info.strategy != "codet" else ""
    if info.tie_break == "disagreement":
        picked = sum(r.model_inputs for r in runs)
        extra += (f"; ties broken by the majority of outputs on model-written inputs (S*), which selected the "
                  f"submission in {picked} of {len(runs)} runs")
    elif info.tie_break != "latest":
        extra += f"; ties broken by the model's token confidence ({info.tie_break})"
    return f"{how}, from up to {most} candidates per sample{extra}"


def config_summary(info: ConfigInfo, runs: list[RunFacts], boot: Bootstrap | None = None) -> dict[str, Any]:
    """pass@k and pass^k for each k up to the samples every task has, coverage, the visible checks'
    false passes, all with 95% bootstrap intervals over tasks, and compute per task/sample."""
    groups = task_groups([r for r in runs if r.config == info.name])
    if not groups:
        return {"configuration": info.name, "label": info.label, "tasks": 0, "samples": 0, "pass_at_k": {}}
    boot = boot or Bootstrap()
    n_min = min(len(g) for g in groups)
    curves = pass_curves(groups, boot)
    pak = {k: round(ci.point, 4) for k, ci in curves["pass_at_k"].items()}
    cover = coverage_curve(info.strategy, groups, boot)
    oracle = [any(r.any_passed for r in g) if all(r.any_passed is not None for r in g) else None for g in groups]
    costs = [r.cost_usd for r in runs if r.cost_usd is not None]
    single = max(r.candidates for r in runs) <= 1
    return {"configuration": info.name, "label": info.label, "tasks": len(groups), "samples": n_min,
            "pass_at_k": pak, "pass_name": "pass@k" if single else f"pass@k of {info.label} submissions",
            "selection": selection(info, runs), "picked_by": picked_by(info, runs),
            "coverage": round(mean(1.0 if any(r.passed for r in g) else 0.0 for g in groups), 4),
            "oracle_coverage": None if None in oracle else round(mean(float(o) for o in oracle if o is not None), 4),
            "tokens_per_task": round(mean(sum(r.tokens for r in g) for g in groups), 1),
            "tokens_per_sample": round(mean(r.tokens for r in runs), 1),
            "prompt_tokens_per_sample": round(mean(r.prompt_tokens for r in runs), 1),
            "completion_tokens_per_sample": round(mean(r.completion_tokens for r in runs), 1),
            "model_calls_per_sample": round(mean(r.model_calls for r in runs), 2),
            "candidates_per_sample": round(mean(r.candidates for r in runs), 2),
            "seconds_per_task": round(mean(sum(r.seconds for r in g) for g in groups), 3),
            "seconds_per_sample": round(mean(r.seconds for r in runs), 3),
            "cost_usd_per_task": round(sum(costs) / len(groups), 6) if costs else None,
            "errors": sum(r.status == RunStatus.ERROR for r in runs),
            "pass_at_k_ci": curves["pass_at_k"], "pass_hat_k": curves["pass_hat_k"],
            "coverage_unit": cover[0] if cover else None, "coverage_curve": cover[1] if cover else {},
            "coverage_fit": cover[2] if cover else None, "visible_false_passes": visible_false_passes(groups, boot),
            "compute_per_sample": {axis: _mean_or_none([getattr(r, axis, None) for r in runs]) for axis in AXES}}


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean, or None when any value is unknown (a mean of the known ones would mislead)."""
    known = [v for v in values if v is not None]
    return None if not values or len(known) < len(values) else round(mean(known), 4)


def pass_by_turn(runs: list[RunFacts]) -> list[tuple[int, float]] | None:
    """Pass rate had each run stopped after t candidates, t = 1 … the most any run made."""
    if not runs or any(not r.curve for r in runs if r.candidates):
        return None
    most = max(r.candidates for r in runs)
    return [(t, mean(float(value_at(r.curve, r.passed, index=t)) for r in runs)) for t in range(1, most + 1)]
