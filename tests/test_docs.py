"""The docs: a short README whose commands and task file work, docs/*.md pages whose links resolve,
and a MkDocs site that builds strictly (a broken link or anchor is a failure, not a warning)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import GOOD_FIZZ, REPO, cli_json, run_cli

README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans (links in code are not links)."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """The anchor GitHub (and MkDocs' toc, for these headings) gives a heading."""
    heading = re.sub(r"`|\*\*?", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading))


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", _prose(page.read_text()), flags=re.M)
    return {_slug(h) for h in headings}


def _code_blocks(text: str, section: str, lang: str) -> list[str]:
    """The ```lang blocks of the README section headed ``## section``."""
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"^```{lang}\n(.*?)^```$", body, flags=re.S | re.M)


def _build(config_dir: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=config_dir, capture_output=True, text=True, timeout=300)


def test_readme_is_at_most_200_lines():
    assert len(README.read_text().splitlines()) <= 200


def test_every_relative_link_in_the_readme_and_docs_points_to_an_existing_file_and_heading():
    checked = 0
    for page in [README, *PAGES]:
        for target in LINK.findall(_prose(page.read_text())):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not a file of this repo
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            assert dest.exists(), f"{page.relative_to(REPO)}: link to {target}: no such file"
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest), f"{page.relative_to(REPO)}: link to {target}: no such heading"
            checked += 1
    assert checked >= 30  # the README's links to every page, and the pages' links to each other


def test_readme_links_to_every_docs_page():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in LINK.findall(_prose(README.read_text()))}
    missing = [p.name for p in PAGES if p.name != "index.md" and p.resolve() not in linked]
    assert not missing, f"README.md does not link to {missing}"


def test_ci_runs_the_readme_test_command_verbatim():
    install, test = _code_blocks(README.read_text(), "Set up", "bash")
    assert "pip install" in install and "agentloop run examples/" in install
    assert test.strip() in (REPO / ".ci" / "run").read_text()


def test_the_readme_task_file_is_solved_as_shown(tmp_path):
    """The README's short task file, run as a user would, with a scripted model in place of the embedded one."""
    (block,) = _code_blocks(README.read_text(), "A task file", "yaml")
    (tmp_path / "task.yaml").write_text(block)
    (tmp_path / "script.yaml").write_text(yaml.safe_dump([GOOD_FIZZ]))
    proc = run_cli("run", "task.yaml", "--model", "scripted:script.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = cli_json(proc)
    assert out["status"] == "solved" and out["hidden_tests"] == {"passed": True}


def test_the_docs_site_builds_strictly(tmp_path):
    proc = _build(REPO, tmp_path / "site")
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stderr
    for page in PAGES:  # every page is in the site, the report's picture too
        out = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        title = re.search(r"^# (.+)$", page.read_text(), flags=re.M).group(1)
        assert title.split("`")[0].replace("&", "&amp;") in out.read_text(), page.name
    assert (tmp_path / "site" / "report.png").stat().st_size > 0


def test_a_broken_link_or_anchor_fails_the_docs_build(tmp_path):
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path)
    with (tmp_path / "docs" / "wrap.md").open("a") as f:
        f.write("\nSee [the gone page](gone.md) and [a gone heading](models.md#no-such-heading).\n")
    proc = _build(tmp_path, tmp_path / "site")
    assert proc.returncode != 0
    assert "'gone.md'" in proc.stderr and "'#no-such-heading'" in proc.stderr
