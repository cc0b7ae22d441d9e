"""The statistics sections of summary.md and the rows of intervals.csv (every estimate with its interval)."""

from __future__ import annotations

from typing import Any

from .intervals import AXES
from .stats import RESAMPLES, SEED, Interval

INTERVAL_COLUMNS = ["configuration", "statistic", "k", "axis", "budget", "point", "low", "high", "tasks", "unit"]

METHOD = (f"Intervals: 95% percentile bootstrap over tasks ({RESAMPLES} resamples, seed {SEED}; the same draws for "
          "every configuration over the same tasks, so differences are paired).")


def ci_text(value: Interval | None) -> str:
    """``point [low, high]``, or a dash when there is no estimate."""
    return value.text() if value is not None else "–"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) >= 1e5 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _powers(ks: list[int]) -> list[int]:
    """1, 2, 4, … and the last k: enough columns to read a curve without one per k."""
    picked = [k for k in ks if k & (k - 1) == 0]
    return picked + [ks[-1]] if ks and ks[-1] not in picked else picked


def pass_hat_section(sums: list[dict[str, Any]]) -> list[str]:
    """pass^k per configuration: every one of k samples passes (reliability, not luck)."""
    ks = _powers(sorted({k for s in sums for k in s.get("pass_hat_k", {})}))
    if not ks or ks == [1]:
        return []
    lines = ["", "## pass^k: all k samples pass (Yao et al. 2024)", "",
             "| configuration | " + " | ".join(f"pass^{k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for s in sums:
        if s["tasks"]:
            lines.append(f"| {s['configuration']} | " + " | ".join(ci_text(s["pass_hat_k"].get(k)) for k in ks) + " |")
    return lines


def coverage_section(sums: list[dict[str, Any]]) -> list[str]:
    """Coverage against k with the exponentiated power-law fit (Large Language Monkeys)."""
    rows = [s for s in sums if s["tasks"] and s.get("coverage_curve")]
    if not rows:
        return []
    ks = _powers(sorted({k for s in rows for k in s["coverage_curve"]}))
    lines = ["", "## Coverage: some of k samples passes the hidden tests (Brown et al. 2024)", "",
             "| configuration | sample unit | " + " | ".join(f"coverage@{k}" for k in ks)
             + " | fit: coverage = exp(a·k^b) |", "|---|---|" + "---|" * (len(ks) + 1)]
    for s in rows:
        fit = s["coverage_fit"]
        fitted = f"a={fit.a:.3f}, b={fit.b:.3f} (R²={fit.r2:.2f}, {fit.points} points)" if fit else "– (too few points)"
        cells = [ci_text(s["coverage_curve"].get(k)) for k in ks]
        lines.append(f"| {s['configuration']} | {s['coverage_unit']} | " + " | ".join(cells) + f" | {fitted} |")
    return lines


def false_pass_section(sums: list[dict[str, Any]]) -> list[str]:
    """Candidates that pass every visible check yet fail the hidden tests (Stroebl et al. 2024)."""
    rows = [s for s in sums if s["tasks"] and s.get("visible_false_passes")]
    if not rows:
        return []
    lines = ["", "## Visible checks' false passes (Stroebl et al. 2024)", "",
             "| configuration | candidates passing every visible check | of them failing the hidden tests "
             "| share (1 - precision) |", "|---|---|---|---|"]
    for s in rows:
        v = s["visible_false_passes"]
        lines.append(f"| {s['configuration']} | {v['visible_passing']} | {v['hidden_failing']} | {ci_text(v['share'])} |")
    return lines


def compute_section(sums: list[dict[str, Any]]) -> list[str]:
    """Compute per sample on every axis the runs record."""
    rows = [s for s in sums if s["tasks"]]
    if not rows:
        return []
    lines = ["", "## Compute per sample", "", "| configuration | " + " | ".join(AXES.values()) + " |",
             "|---|" + "---|" * len(AXES)]
    for s in rows:
        spent = s.get("compute_per_sample", {})
        lines.append(f"| {s['configuration']} | " + " | ".join(_num(spent.get(a)) for a in AXES) + " |")
    return lines


def equal_compute_section(rows: list[dict[str, Any]]) -> list[str]:
    """Pass rates at one shared spend per axis, each table naming the axis it equalises."""
    if not rows:
        return []
    lines = ["", "## Equal-compute comparisons", "",
             "Each run is stopped once it has spent the budget on the axis named; the budget is the largest every "
             "configuration reached. \"indistinguishable\": the paired 95% interval of the difference to the best "
             "contains 0."]
    for axis in dict.fromkeys(r["axis"] for r in rows):
        part = [r for r in rows if r["axis"] == axis]
        lines += ["", f"**Axis equalised: {part[0]['axis_label']}**, at {_num(part[0]['budget'])} per sample", "",
                  "| configuration | pass rate | difference to the best | verdict |", "|---|---|---|---|"]
        for r in part:
            diff = r["difference_to_best"]
            verdict = "best" if r["best"] else "–" if diff is None else (
                "indistinguishable" if diff.low <= 0 <= diff.high else "worse")
            lines.append(f"| {r['configuration']} | {ci_text(r['pass'])} | {ci_text(diff)} | {verdict} |")
    return lines


def interval_rows(sums: list[dict[str, Any]], equal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """intervals.csv: one row per estimate (pass@k, pass^k, coverage@k, false passes, equal-compute pass)."""
    rows = []

    def add(s: dict[str, Any], statistic: str, ci: Interval | None, **extra: Any) -> None:
        if ci is not None:
            rows.append({"configuration": s["configuration"], "statistic": statistic, "k": "", "axis": "", "budget": "",
                         **ci.to_dict(), "tasks": s["tasks"], "unit": "", **extra})

    for s in sums:
        if not s["tasks"]:
            continue
        for name, key in (("pass@k", "pass_at_k_ci"), ("pass^k", "pass_hat_k")):
            for k, ci in s[key].items():
                add(s, name, ci, k=k, unit="sample")
        for k, ci in s["coverage_curve"].items():
            add(s, "coverage@k", ci, k=k, unit=s["coverage_unit"])
        if s["visible_false_passes"]:
            add(s, "visible_false_pass_share", s["visible_false_passes"]["share"], unit="candidate")
    tasks = {s["configuration"]: s["tasks"] for s in sums}
    for r in equal:
        add({"configuration": r["configuration"], "tasks": tasks.get(r["configuration"], "")}, "pass_at_equal_compute",
            r["pass"], axis=r["axis"], budget=f"{r['budget']:.6g}", unit="sample")
    return rows
