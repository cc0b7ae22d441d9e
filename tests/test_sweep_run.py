"""`agentloop sweep` end to end on the scripted model: the exact table, labels, plots, reuse of runs."""

from __future__ import annotations

import csv
import sqlite3

import pytest
import yaml
from helpers import run_cli
from sweep_fixtures import GOOD_DOUBLE, GOOD_NEG, write_experiment

from agentloop.sweep.aggregate import pass_by_turn
from agentloop.sweep.report import read_results

# configuration, task -> samples, passing on hidden tests, candidates, model calls, some candidate passes
EXPECTED = {
    ("single", "double"): (3, 2, 3, 3, 1),
    ("single", "neg"): (3, 1, 3, 3, 1),
    ("refine2", "double"): (3, 2, 5, 5, 1),  # seeds 0 and 1 fail the visible test first and are refined
    ("refine2", "neg"): (3, 1, 4, 4, 1),  # seed 0's first reply had no code: refined once
}


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _store_tokens(db, config, task):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT SUM(t.prompt_tokens + t.completion_tokens) FROM turns t JOIN sweep_runs s "
                           "ON s.run_id = t.run_id WHERE s.config = ? AND s.task_name = ?", (config, task)).fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def swept(tmp_path):
    sweep = write_experiment(tmp_path)
    proc = run_cli("sweep", str(sweep), "--out", "out", "--store", "s.db", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path, proc


def test_progress_goes_to_stderr_with_the_running_pass_rate(swept):
    _, proc = swept
    assert "12/12" in proc.stderr and "pass 6/12 (50%)" in proc.stderr and "ETA" in proc.stderr
    assert "pass 6/12" not in proc.stdout


def test_tiny_sweep_gives_the_exact_table(swept):
    folder, _ = swept
    rows = _rows(folder / "out" / "results.csv")
    assert [(r["configuration"], r["task"]) for r in rows] == list(EXPECTED)
    for row in rows:
        samples, passing, candidates, calls, oracle = EXPECTED[(row["configuration"], row["task"])]
        assert (int(row["samples"]), int(row["passing"]), int(row["candidates"]), int(row["model_calls"]),
                int(row["any_candidate_passes"]), int(row["errors"])) == (samples, passing, candidates, calls, oracle, 0)
        assert float(row["pass_rate"]) == pytest.approx(passing / samples, abs=1e-4)
        # a row whose submissions were picked among several candidates says so, next to its pass rate
        assert row["picked_by"] == ("none" if candidates == samples else "visible checks (<= 2 candidates)")
        # compute is what the stored turns used, prompt and completion both counted
        assert int(row["tokens"]) == _store_tokens(folder / "s.db", row["configuration"], row["task"])
        assert int(row["tokens"]) == int(row["prompt_tokens"]) + int(row["completion_tokens"]) > 0
        # scripted replies: nothing cached (every token evaluated), no parameter count (no FLOPs)
        assert int(row["evaluated_tokens"]) == int(row["tokens"]) and row["flops"] == ""
        assert float(row["wall_s"]) == pytest.approx(float(row["seconds"]))


def test_summary_reports_pass_at_k_per_k_with_honest_labels(swept):
    folder, proc = swept
    summary = (folder / "out" / "summary.md").read_text()
    assert proc.stdout.strip() == summary.strip()  # the CLI prints the summary
    # pass@1 = mean(2/3, 1/3); pass@2 = mean(1, 1 - C(2,2)/C(3,2)); pass@3 = 1 (each task passed once)
    single = next(line for line in summary.splitlines() if line.startswith("| single |"))
    # each with its 95% bootstrap interval over the two tasks (2/3 and 1/3 pass: [1/3, 2/3])
    assert "| none | 3 | 0.500 [0.333, 0.667] | 0.833 [0.667, 1.000] | 1.000 [1.000, 1.000] |" in single
    refine = next(line for line in summary.splitlines() if line.startswith("| refine2 |"))
    assert "| visible checks (<= 2 candidates) | 3 | 0.500 [0.333, 0.667] | 0.833 [0.667, 1.000] | 1.000 [1.000, 1.000] |" in refine
    assert "hidden_tests" in summary and "compile (2 of 2 tasks), tests (1 of 2 tasks)" in summary
    refine_note = next(line for line in summary.splitlines() if line.startswith("- **refine2**"))
    assert "pass@k of refine(max_turns=2, critic=False) submissions" in refine_note
    assert "best refinement by the visible checks, from up to 2 candidates per sample" in refine_note
    single_note = next(line for line in summary.splitlines() if line.startswith("- **single**"))
    assert "pass@k over 3 sample(s)" in single_note and "single candidate (no selection)" in single_note


def test_pass_rate_by_turn_counts_hidden_verdicts_of_the_best_so_far(swept):
    folder, _ = swept
    results = read_results(folder / "out")
    refine = [r for r in results.runs if r.config == "refine2"]
    # after one candidate 2 of 6 runs hold a hidden-passing submission; after two, 3 of 6 (a reply without
    # code counts as a failing candidate, so every run has a verdict at every turn)
    assert pass_by_turn(refine) == [(1, pytest.approx(2 / 6)), (2, pytest.approx(3 / 6))]


def _png_ok(path):
    import matplotlib.image as mpimg

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, path
    pixels = mpimg.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels.std() > 0.01  # not a blank canvas


def test_plots_are_written_and_redrawn_from_results(swept):
    folder, _ = swept
    # one pass-vs-compute plot per axis the runs record (scripted models have no parameter count: no FLOPs)
    names = ["pass_at_k.png", "coverage.png", "pass_vs_tokens.png", "pass_vs_evaluated_tokens.png",
             "pass_vs_model_calls.png", "pass_vs_seconds.png", "pass_by_turn.png"]
    for name in names:
        _png_ok(folder / "out" / name)
    proc = run_cli("plot", "out", "--out", "again", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.split("/")[-1] for p in proc.stdout.split()) == sorted(names)
    for name in names:
        _png_ok(folder / "again" / name)


def test_a_second_sweep_reuses_the_runs_it_shares(swept):
    folder, _ = swept
    con = sqlite3.connect(folder / "s.db")
    before = con.execute("SELECT id FROM runs ORDER BY id").fetchall()
    con.close()
    # the same configuration under another name, plus one more seed: only the new seed's runs are new
    other = write_experiment(folder, "other.yaml", configs=["single"], seeds=[0, 1, 2, 3])
    text = other.read_text().replace("name: single", "name: again")
    (folder / "scripts" / "single-double-3.yaml").write_text(yaml.safe_dump({"solver": [GOOD_DOUBLE]}))
    (folder / "scripts" / "single-neg-3.yaml").write_text(yaml.safe_dump({"solver": [GOOD_NEG]}))
    other.write_text(text)
    proc = run_cli("sweep", "other.yaml", "--out", "out2", "--store", "s.db", "--quiet", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    con = sqlite3.connect(folder / "s.db")
    after = con.execute("SELECT id FROM runs ORDER BY id").fetchall()
    con.close()
    assert set(before) <= set(after) and len(after) == len(before) + 2
    rows = {(r["configuration"], r["task"]): r for r in _rows(folder / "out2" / "results.csv")}
    assert rows[("again", "double")]["passing"] == "3" and rows[("again", "neg")]["passing"] == "2"
    assert rows[("again", "double")]["samples"] == "4"


def test_the_overall_budget_stops_new_runs_and_says_so(tmp_path):
    sweep = write_experiment(tmp_path, total_budget={"max_tokens": 1})
    proc = run_cli("sweep", str(sweep), "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Runs: 1 of 12 planned over 2 tasks. Stopped early: total_budget.max_tokens (1) reached." in proc.stdout
    rows = _rows(tmp_path / "out" / "results.csv")
    assert [(r["configuration"], r["task"], r["samples"]) for r in rows] == [("single", "double", "1")]


def test_plot_of_something_that_is_not_results_is_exit_2(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    proc = run_cli("plot", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "not a sweep's results" in proc.stderr
    assert not list(tmp_path.glob("*.png"))


def test_sweep_report_shows_the_table_and_every_plot(swept):
    import base64
    import re
    folder, _ = swept
    proc = run_cli("report", "--sweep", "out", "-o", "sweep.html", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    page = (folder / "sweep.html").read_text()
    rows = _rows(folder / "out" / "results.csv")
    assert page.count("<tr>") == len(rows) + 1  # header plus one per configuration × task
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(list((folder / "out").glob("*.png"))) > 0
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    bad = run_cli("report", "--sweep", "nowhere", "-o", "x.html", cwd=folder)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and not (folder / "x.html").exists()
