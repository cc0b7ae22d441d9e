"""``agentloop report``: the page as a person sees it, in a real headless Chromium driven by Playwright.

Runs are made through the real CLI with the scripted model; the page is opened from disk with
every network request recorded. Needs Debian's ``chromium`` (apt-get install -y chromium) and
``pip install playwright`` — never ``playwright install``: the system browser is used.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import FIZZ_HIDDEN, GOOD_FIZZ, REPO, cli_json, run_cli
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import sync_playwright
from test_cli import assert_bad_input

from agentloop.report.payload import script_json

# Model output that tries everything: a script element, an event handler, a way out of the JSON
# <script> element the page keeps its data in, and the line separators old JS parsers choke on.
PAYLOAD = ('<script>window.__pwned = 1; console.error("pwned-script")</script>'
           '<img src=x onerror="window.__pwned = 2; console.error(\'pwned-img\')">'
           '</script><script>window.__pwned = 3</script><!-- \u2028\u2029 & &amp;')
XSS_SOLVER = f'```python\n# {PAYLOAD}\ndef fizzbuzz(n):\n    return str(n)\n```'
XSS_CRITIC = f"Your code is wrong. {PAYLOAD}"
ISOLATION_KIND = textwrap.dedent('''\
    """A check that records the isolation it ran under, as the hardened sandbox will."""
    from pydantic import BaseModel
    from agentloop.feedback import Feedback

    class Config(BaseModel):
        pass

    async def check(code, config, ctx):
        return Feedback(kind="isolated", passed=True, score=1.0, summary="ok", details={"isolation": "bwrap+landlock"})
    ''')


@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed: apt-get install -y chromium"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A report opened in the browser, with its console messages, page errors and requests kept."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)

    def click(self, turn: str) -> str:
        self.page.click(f'.node[data-turn="{turn}"]')
        return self.page.inner_text("#detail")


def make_run(make_task, tmp_path: Path, script: dict, **task) -> tuple[str, Path]:
    """Run a task through the CLI into ``tmp_path/runs.db``; return the run id and the store."""
    store = tmp_path / "runs.db"
    proc = run_cli("run", str(make_task(script, **task)), "--store", str(store), "--json", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    return cli_json(proc)["run_id"], store


def report(run_id: str, store: Path, out: Path) -> Path:
    proc = run_cli("report", run_id, "--store", str(store), "-o", str(out), cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


def show(run_id: str, store: Path) -> dict:
    return cli_json(run_cli("show", run_id, "--store", str(store), "--json", cwd=store.parent))


def test_refine_report_draws_every_turn_and_clicking_shows_its_feedback_diff_and_prompt(browser, make_task, tmp_path):
    run_id, store = make_run(make_task, tmp_path, {"solver": [XSS_SOLVER], "critic": [XSS_CRITIC], "refiner": [GOOD_FIZZ]},
                             hidden_tests=FIZZ_HIDDEN)
    view = Page(browser, report(run_id, store, tmp_path / "run.html"))
    turns = show(run_id, store)["turns"]
    assert view.page.locator("#graph .node").count() == len(turns) == 3
    assert view.page.locator("#graph .edge").count() == sum(len(t["parents"]) for t in turns) == 3
    assert view.page.get_attribute('.node[data-turn="t1"]', "class") == "node fail"
    assert view.page.get_attribute('.node[data-turn="t3"]', "class") == "node pass"
    summary = view.page.inner_text("#summary")
    assert "solved" in view.page.inner_text("#status") and "passed" in summary  # hidden tests
    levels = show(run_id, store)["isolation"]  # what the sandbox recorded in each check's details
    assert levels and view.page.inner_text("#summary-isolation") == "; ".join(levels)

    first = view.click("t1")
    assert "tests: FAILED" in first and "test_five" in first and "test_three" in first
    assert "assert '3' == 'Fizz'" in first
    assert "Write fizzbuzz(n)" in first  # the rendered prompt
    refined = view.click("t3")
    assert "diff against t1" in refined and "tests: passed" in refined
    added = view.page.locator("#detail .diff .add").all_inner_texts()
    assert any('return "FizzBuzz"' in line for line in added)
    assert any(line.startswith("-# <script>window.__pwned") for line in view.page.locator("#detail .diff .del").all_inner_texts())
    assert view.errors == [], view.errors
    assert view.requests == [view.url]  # self-contained: nothing fetched but the file itself


def test_model_output_with_markup_is_shown_as_text_and_never_runs(browser, make_task, tmp_path):
    run_id, store = make_run(make_task, tmp_path, {"solver": [XSS_SOLVER], "critic": [XSS_CRITIC], "refiner": [GOOD_FIZZ]},
                             prompt=f"Write fizzbuzz(n). {PAYLOAD}")
    html = report(run_id, store, tmp_path / "run.html").read_text()
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    view = Page(browser, tmp_path / "run.html")
    texts = [view.click(t) for t in ("t1", "t2", "t3")]
    assert view.page.evaluate("window.__pwned") is None
    assert view.page.locator("img").count() == 0 and view.page.locator("script").count() == 2
    assert PAYLOAD.split("\u2028")[0] in texts[0]  # the solver's output, verbatim, as text
    assert "Your code is wrong. <script>" in texts[1]
    assert PAYLOAD.split("\u2028")[0] in view.page.text_content("details.task pre")  # the task prompt, server-side
    assert view.errors == [], view.errors


def test_isolation_recorded_by_a_check_is_shown_and_its_absence_said(browser, make_task, tmp_path):
    path = make_task({"solver": [GOOD_FIZZ]}, feedback=[{"kind": "compile"}, {"kind": "isolated"}])
    (path.parent / "tools").mkdir()
    (path.parent / "tools" / "isolated.py").write_text(ISOLATION_KIND)
    store = tmp_path / "runs.db"
    run_id = cli_json(run_cli("run", str(path), "--store", str(store), "--json", cwd=tmp_path))["run_id"]
    view = Page(browser, report(run_id, store, tmp_path / "iso.html"))
    shown = view.page.inner_text("#summary-isolation").split("; ")
    assert "bwrap+landlock" in shown and len(shown) == 2  # the kind's own, and the sandbox's for compile
    assert "bwrap+landlock" in view.click("t1")  # and in the check's details
    # a reply with no code block is rejected before any sandbox runs: no check recorded an isolation
    run_id, store = make_run(make_task, tmp_path, {"solver": ["I cannot write that."]},
                             strategy={"name": "refine", "max_turns": 1})
    view = Page(browser, report(run_id, store, tmp_path / "none.html"))
    assert view.page.inner_text("#summary-isolation") == "not recorded"
    assert view.errors == []


@pytest.mark.parametrize("example", ["tree", "best-of-n", "codet"])
def test_branching_examples_lay_out_without_overlaps(browser, tmp_path, example):
    store = tmp_path / "runs.db"
    proc = run_cli("run", str(REPO / "examples" / example / "task.yaml"), "--store", str(store), "--json", cwd=tmp_path)
    run_id = cli_json(proc)["run_id"]
    turns = show(run_id, store)["turns"]
    view = Page(browser, report(run_id, store, tmp_path / "r.html"))
    boxes = {t["id"]: view.page.locator(f'.node[data-turn="{t["id"]}"] rect').bounding_box() for t in turns}
    assert len(boxes) == len(turns) == view.page.locator("#graph .node").count()
    for a, ra in boxes.items():
        for b, rb in boxes.items():
            if a < b:
                apart = (ra["x"] + ra["width"] <= rb["x"] or rb["x"] + rb["width"] <= ra["x"]
                         or ra["y"] + ra["height"] <= rb["y"] or rb["y"] + rb["height"] <= ra["y"])
                assert apart, (a, b)
    for t in turns:  # a turn is drawn right of everything it derives from
        for p in t["parents"]:
            assert boxes[p]["x"] + boxes[p]["width"] < boxes[t["id"]]["x"]
    for t in turns:
        view.click(t["id"])
    assert view.errors == []


def test_unknown_run_or_missing_folder_exits_2_writing_nothing(make_task, tmp_path):
    run_id, store = make_run(make_task, tmp_path, {"solver": [GOOD_FIZZ]})
    assert_bad_input(run_cli("report", "nope", "--store", str(store), "-o", "r.html", cwd=tmp_path), "nope")
    assert_bad_input(run_cli("report", run_id, "--store", str(store), "-o", "gone/r.html", cwd=tmp_path), "gone")
    assert_bad_input(run_cli("report", run_id, "--store", "none.db", "-o", "r.html", cwd=tmp_path), "none.db")
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "gone").exists()
    assert not (tmp_path / "none.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".r")) == []  # no temporary left


@given(st.text())
def test_script_json_cannot_close_its_element_and_round_trips(text):
    out = script_json({"s": text, "k": [text]})
    assert not any(c in out for c in "<>&\u2028\u2029")
    assert json.loads(out) == {"s": text, "k": [text]}


def test_a_run_that_failed_before_any_turn_still_gets_a_page(browser, make_task, tmp_path):
    store = tmp_path / "runs.db"
    proc = run_cli("run", str(make_task({"solver": []})), "--store", str(store), "--json", cwd=tmp_path)
    assert proc.returncode == 3
    run_id = cli_json(proc)["run_id"]
    view = Page(browser, report(run_id, store, tmp_path / "err.html"))
    assert view.page.inner_text("#status") == "error"
    assert "ran out of replies" in view.page.inner_text("#summary")
    assert view.page.locator("#graph .node").count() == 0
    assert view.errors == []


def test_compiler_diagnostics_and_shrunk_counterexamples_are_shown(browser, tmp_path):
    store = tmp_path / "runs.db"
    ids = {ex: cli_json(run_cli("run", str(REPO / "examples" / ex / "task.yaml"), "--store", str(store), "--json",
                                cwd=tmp_path))["run_id"] for ex in ("c-max", "property-judge")}
    view = Page(browser, report(ids["c-max"], store, tmp_path / "c.html"))
    view.click("t1")
    table = view.page.locator("#detail .fb.failed table.items").first
    headers = table.locator("th").all_inner_texts()
    assert {"file", "line", "column", "severity", "message"} <= set(headers)
    first_row = dict(zip(headers, table.locator("tr").nth(1).locator("td").all_inner_texts()))
    assert (first_row["file"], first_row["line"], first_row["column"], first_row["severity"]) == ("solution.c", "4", "5", "error")
    view = Page(browser, report(ids["property-judge"], store, tmp_path / "p.html"))
    shown = view.click("t1")
    assert "property: FAILED" in shown and "counterexamples" in shown and "n=65" in shown
    assert view.errors == []


def test_a_turns_token_confidence_is_shown_in_its_panel(browser, make_task, tmp_path):
    sure = {"text": GOOD_FIZZ, "logprobs": [-0.25, -0.75], "top_logprobs": [[-0.25, -3.0], [-0.75, -1.0]]}
    run_id, store = make_run(make_task, tmp_path, {"solver": [sure]})
    view = Page(browser, report(run_id, store, tmp_path / "run.html"))
    panel = view.click("t1")
    assert "confidence: mean logprob -0.5000 · lowest group 1.2500 (window 32) · self-certainty — · 2 tokens" in panel
    assert view.errors == [], view.errors


def test_an_evolve_run_shows_parent_and_inspiration_edges_its_islands_grid_and_migrations(browser, tmp_path):
    store = tmp_path / "runs.db"
    proc = run_cli("run", str(REPO / "examples" / "evolve" / "task.yaml"), "--store", str(store), "--json", cwd=tmp_path)
    run_id = cli_json(proc)["run_id"]
    turns = {t["id"]: t for t in show(run_id, store)["turns"]}
    view = Page(browser, report(run_id, store, tmp_path / "evolve.html"))
    parents = view.page.locator("#graph .edge.parent")
    inspirations = view.page.locator("#graph .edge.inspiration")
    assert parents.count() == sum(1 for t in turns.values() if t["parents"])
    assert inspirations.count() == sum(len(t["parents"]) - 1 for t in turns.values() if t["parents"]) >= 1
    assert view.page.locator("#graph .edge").count() == parents.count() + inspirations.count()
    inspiration = view.page.locator('#graph .edge.inspiration[data-child="t6"]')
    assert inspiration.get_attribute("data-parent") == turns["t6"]["parents"][1]
    dash = inspiration.evaluate("e => getComputedStyle(e).strokeDasharray")
    assert dash not in ("", "none") and parents.first.evaluate("e => getComputedStyle(e).strokeDasharray") == "none"
    # two islands, each a grid of elites; the seeds were placed on island 0 and 1
    assert view.page.locator("#population .island").count() == 2
    def elites(island: int) -> list[str]:
        return view.page.locator(f'#population .island[data-island="{island}"] .elite').evaluate_all(
            "es => es.map(e => e.dataset.turn)")
    # island 0: the Leibniz seed t1 lost its cell ("110": compile and tests pass) to t4 (more digits),
    # which migrated there from island 1; t3 (a failed edit) and t5 (a copy) never joined
    assert elites(0) == ["t4", "t6"] and elites(1) == ["t2", "t4", "t6"]
    assert view.page.inner_text('#population .island[data-island="0"] tr:has(th:text-is("110"))').split() == [
        "110", "t4", "·", "0.79", "·", "5.72498"]
    assert "after child 2: t4 from island 1 to island 0" in view.page.inner_text("#migrations")
    view.page.locator("#population .elite", has_text="t4 ·").first.click()
    panel = view.page.inner_text("#detail")
    assert f"bred on island 1 · parent {turns['t4']['parents'][0]} · no inspirations" in panel
    assert "parent t4 · inspirations t2" in view.click("t6")
    assert view.errors == [], view.errors
