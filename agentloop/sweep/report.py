"""The files a sweep writes: results.csv, summary.md and results.json (what ``agentloop plot`` reads)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aggregate import (
    TURN_STRATEGIES,
    ConfigInfo,
    config_summary,
    pass_by_turn,
    task_rows,
)
from .intervals import equal_compute, task_groups
from .measures import RunFacts
from .objective import objective_rows, objective_section
from .stats import Bootstrap
from .tables import (
    INTERVAL_COLUMNS,
    METHOD,
    ci_text,
    compute_section,
    coverage_section,
    equal_compute_section,
    false_pass_section,
    interval_rows,
    pass_hat_section,
)

CSV_COLUMNS = ["configuration", "task", "samples", "passing", "pass_rate", "picked_by", "any_candidate_passes", "candidates",
               "prompt_tokens", "completion_tokens", "tokens", "evaluated_tokens", "model_calls", "seconds", "wall_s",
               "flops", "cost_usd", "errors"]


@dataclass(frozen=True)
class Results:
    """A sweep's outcome: configurations, runs, and what the loop saw versus what scored it."""

    sweep: str
    configs: list[ConfigInfo]
    runs: list[RunFacts]
    seen: dict[str, int]  # visible check kind -> how many tasks have it
    tasks: int
    planned: int  # runs the grid asked for
    stopped: str | None = None  # why runs are missing (the overall budget), if they are

    def to_json(self) -> dict[str, Any]:
        """results.json."""
        return {"sweep": self.sweep, "configs": [c.to_dict() for c in self.configs],
                "runs": [r.to_dict() for r in self.runs], "seen": self.seen, "tasks": self.tasks,
                "planned": self.planned, "stopped": self.stopped}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        """Inverse of ``to_json``."""
        return cls(sweep=data["sweep"], configs=[ConfigInfo(**c) for c in data["configs"]],
                   runs=[RunFacts.from_dict(r) for r in data["runs"]], seen=data["seen"], tasks=data["tasks"],
                   planned=data["planned"], stopped=data.get("stopped"))


def write_csv(results: Results, path: Path) -> None:
    """One row per configuration × task (SPEC §6)."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(task_rows(results.runs, results.configs))


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if not isinstance(value, float):
        return str(value)
    # rates keep three decimals; counts of tokens, seconds and calls only the digits that matter
    return f"{value:.3f}" if value <= 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def summary_markdown(results: Results) -> str:
    """summary.md: per configuration pass@k for each k up to the samples taken, compute per task."""
    sums = summaries(results)
    seen = ", ".join(f"{kind} ({n} of {results.tasks} tasks)" for kind, n in results.seen.items()) or "none"
    lines = [f"# Sweep results: {Path(results.sweep).name}", "",
             f"- Tests the loops saw (their visible checks): {seen}.",
             "- Tests that decided every score below: each task's `hidden_tests`, never shown to any agent"
             + (" (a task without them counts as failing in pass@k; see *Scored objective*)."
                if any(r.objective_score is not None for r in results.runs) else "."),
             (f"- Runs: {len(results.runs)} of {results.planned} planned over {results.tasks} tasks."
              + (f" Stopped early: {results.stopped}." if results.stopped else "")), ""]
    ks = sorted({k for s in sums for k in s["pass_at_k"]})
    head = ["configuration", "strategy", "submission picked by", "samples"] + [f"pass@{k}" for k in ks]
    head += ["coverage (oracle)", "tokens/sample", "prompt/completion per sample", "calls/sample", "seconds/task",
             "tokens/task"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in sums:
        if not s["tasks"]:
            lines.append(f"| {s['configuration']} | {s['label']} | – | 0 |" + " – |" * (len(head) - 4))
            continue
        cells = [s["configuration"], f"`{s['label']}`", s["picked_by"], str(s["samples"])]
        cells += [ci_text(s["pass_at_k_ci"].get(k)) for k in ks]
        cells += [_fmt(s["oracle_coverage"]), _fmt(s["tokens_per_sample"]),
                  f"{s['prompt_tokens_per_sample']:.0f} / {s['completion_tokens_per_sample']:.0f}",
                  _fmt(s["model_calls_per_sample"]), _fmt(s["seconds_per_task"]), _fmt(s["tokens_per_task"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## What each pass@k means", ""]
    for s in sums:
        if s["tasks"]:
            cost = f"; cost ${s['cost_usd_per_task']:.4f} per task" if s["cost_usd_per_task"] is not None else ""
            lines.append(f"- **{s['configuration']}**: {s['pass_name']} over {s['samples']} sample(s) per task; "
                         f"submission picked by: {s['selection']}; {s['candidates_per_sample']} candidates and "
                         f"{s['model_calls_per_sample']} model calls per sample; {s['errors']} run(s) ended in error{cost}.")
    lines += _by_turn(results)
    lines += objective_section(objective_rows([c.name for c in results.configs], results.runs))
    lines += [*pass_hat_section(sums), *coverage_section(sums), *false_pass_section(sums), *compute_section(sums),
              *equal_compute_section(equal_compute_rows(results))]
    lines += ["", _LEGEND, "", METHOD, ""]
    return "\n".join(lines)


def summaries(results: Results) -> list[dict[str, Any]]:
    """``config_summary`` of every configuration, in the sweep's order."""
    return [config_summary(c, [r for r in results.runs if r.config == c.name]) for c in results.configs]


def equal_compute_rows(results: Results) -> list[dict[str, Any]]:
    """``equal_compute`` over the sweep's configurations."""
    return equal_compute({c.name: task_groups([r for r in results.runs if r.config == c.name]) for c in results.configs},
                         Bootstrap())


def write_intervals(results: Results, path: Path) -> None:
    """intervals.csv: every estimate of the summary with its 95% interval."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=INTERVAL_COLUMNS)
        writer.writeheader()
        writer.writerows(interval_rows(summaries(results), equal_compute_rows(results)))


def _by_turn(results: Results) -> list[str]:
    """Pass rate had each run stopped after t candidates, for the turn-by-turn strategies."""
    out = []
    for c in results.configs:
        curve = pass_by_turn([r for r in results.runs if r.config == c.name]) if c.strategy in TURN_STRATEGIES else None
        if curve:
            out.append(f"- **{c.name}**: " + ", ".join(f"after {t}: {rate:.3f}" for t, rate in curve))
    return ["", "## Pass rate by turn (hidden tests; the run stopped after t candidates)", "", *out] if out else []


_LEGEND = ("pass@k: the unbiased estimator of Chen et al. (2021) over the n samples (seeds) of each task, "
              "averaged over tasks; a sample is one whole run of the configuration and counts as correct when the "
              "candidate it submitted passes the hidden tests. Only a configuration with a single candidate per sample "
              "reports the model's own pass@k. Coverage (oracle): the share of tasks where any candidate of any sample "
              "passes the hidden tests — an upper bound no visible-test selection is guaranteed to reach. "
              "Every estimate is written `point [low, high]`: the 95% interval over tasks.")


def write_all(results: Results, out: Path) -> list[Path]:
    """results.csv, summary.md and results.json under ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "results.csv")
    write_intervals(results, out / "intervals.csv")
    (out / "summary.md").write_text(summary_markdown(results), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results.to_json(), indent=1), encoding="utf-8")
    return [out / "results.csv", out / "intervals.csv", out / "summary.md", out / "results.json"]


def read_results(path: Path) -> Results:
    """results.json from a sweep's output folder (or the file itself)."""
    file = path / "results.json" if path.is_dir() else path
    if file.suffix == ".csv":
        file = file.with_name("results.json")
    return Results.from_json(json.loads(file.read_text(encoding="utf-8")))
