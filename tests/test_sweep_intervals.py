"""The statistics a sweep reports, on the scripted suite whose hidden verdicts are known by construction.

Per task and seed (tests/sweep_fixtures.py): ``single`` submits one candidate per run, double passing
the hidden tests in 2 of 3 seeds (the third passes the visible test only) and neg in 1 of 3 (the other
two compile, the only visible check, and fail the hidden one). ``refine2`` refines failed candidates.
"""

from __future__ import annotations

import csv

import pytest
from helpers import run_cli
from sweep_fixtures import write_experiment

from agentloop.sweep.aggregate import config_summary
from agentloop.sweep.report import read_results


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("intervals")
    sweep = write_experiment(folder)
    proc = run_cli("sweep", str(sweep), "--out", "out", "--store", "s.db", "--quiet", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder


def _summaries(folder):
    results = read_results(folder / "out")
    return {c.name: config_summary(c, [r for r in results.runs if r.config == c.name]) for c in results.configs}


def test_pass_hat_k_needs_every_sample_to_pass(out):
    single = _summaries(out)["single"]
    # pass^2 = mean(C(2,2)/C(3,2), 0) = 1/6; pass^3 = 0: no task passed in all three seeds
    assert {k: round(ci.point, 4) for k, ci in single["pass_hat_k"].items()} == {1: 0.5, 2: 0.1667, 3: 0.0}
    for k, ci in single["pass_hat_k"].items():
        assert ci.point <= single["pass_at_k_ci"][k].point + 1e-12


def test_coverage_counts_candidates_for_independent_samples_and_runs_otherwise(out):
    sums = _summaries(out)
    single, refine = sums["single"], sums["refine2"]
    assert single["coverage_unit"] == "candidate" and refine["coverage_unit"] == "sample"
    # double: 2 of 3 runs hold a hidden-passing candidate; neg: 1 of 3 (seed 1)
    assert {k: round(ci.point, 4) for k, ci in refine["coverage_curve"].items()} == {1: 0.5, 2: 0.8333, 3: 1.0}
    fit = single["coverage_fit"]  # through (1, 0.5) and (2, 0.833): exp(a) = 0.5
    assert fit is not None and fit.points == 2 and fit.predict(1) == pytest.approx(0.5, abs=1e-9)


def test_visible_false_passes_are_counted_per_candidate(out):
    sums = _summaries(out)
    # single: double's sneaky candidate and neg's two compiling wrong ones pass every visible check
    single = sums["single"]["visible_false_passes"]
    assert (single["visible_passing"], single["hidden_failing"]) == (6, 3)
    # refine2: the wrong double fails its visible test (not counted); sneaky double and two wrong negs are
    refine = sums["refine2"]["visible_false_passes"]
    assert (refine["visible_passing"], refine["hidden_failing"]) == (6, 3)
    assert refine["share"].point == pytest.approx(0.5)


def test_every_interval_holds_its_estimate_and_the_csv_lists_them(out):
    with (out / "out" / "intervals.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    stats = {(r["configuration"], r["statistic"], r["k"]) for r in rows}
    for config in ("single", "refine2"):
        for k in "123":
            assert {(config, "pass@k", k), (config, "pass^k", k), (config, "coverage@k", k)} <= stats
        assert (config, "visible_false_pass_share", "") in stats
    for r in rows:
        assert float(r["low"]) <= float(r["point"]) <= float(r["high"]), r
    equal = [r for r in rows if r["statistic"] == "pass_at_equal_compute"]
    assert {r["axis"] for r in equal} == {"tokens", "evaluated_tokens", "model_calls", "seconds"}  # no FLOPs: scripted
    assert len({r["budget"] for r in equal if r["axis"] == "tokens"}) == 1  # one shared budget per axis


def test_summary_names_the_axis_each_equal_compute_comparison_equalises(out):
    summary = (out / "out" / "summary.md").read_text()
    assert "**Axis equalised: nominal tokens (prompt + completion)**" in summary
    assert "95% percentile bootstrap over tasks (2000 resamples, seed 0" in summary
    for heading in ("## pass^k", "## Coverage", "## Visible checks' false passes", "## Compute per sample"):
        assert heading in summary


def test_the_same_results_give_the_same_intervals(out):
    first = (out / "out" / "intervals.csv").read_text()
    proc = run_cli("sweep", "sweep.yaml", "--out", "again", "--store", "s.db", "--quiet", cwd=out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "again" / "intervals.csv").read_text() == first


def test_equal_model_calls_stops_refinement_after_its_first_candidate(out):
    """At one model call per sample (the most ``single`` spent), refine2 is judged on its first candidate."""
    with (out / "out" / "intervals.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["statistic"] == "pass_at_equal_compute" and r["axis"] == "model_calls"]
    assert {r["configuration"]: (r["budget"], float(r["point"])) for r in rows} == {
        "single": ("1", 0.5), "refine2": ("1", pytest.approx(1 / 3, abs=1e-4))}
    summary = (out / "out" / "summary.md").read_text()
    part = summary.split("**Axis equalised: model calls**, at 1.00 per sample")[1].split("**Axis")[0]
    # refine2 - single per task: double 1/3 - 2/3, neg 1/3 - 1/3; resampled: [-1/3, 0], which holds 0
    assert "| refine2 | 0.333 [0.333, 0.333] | -0.167 [-0.333, 0.000] | indistinguishable |" in part
    assert "| single | 0.500 [0.333, 0.667] | – | best |" in part
