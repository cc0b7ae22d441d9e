"""Make docs/report.png: run examples/fizzbuzz-refine (scripted model), write its report, and
photograph it in headless Chromium with the refined turn selected.

    python docs/report_screenshot.py [--turn t3] [--out docs/report.png]
    python docs/report_screenshot.py --example evolve --turn t6 --full-page --out docs/evolve_report.png

Needs Debian's chromium (apt-get install -y chromium) and `pip install playwright`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent


def agentloop(*args: str) -> str:
    """Run the CLI exactly as a user would; its stdout."""
    proc = subprocess.run([sys.executable, "-m", "agentloop.cli", *args], capture_output=True, text=True, check=True)
    return proc.stdout


def main() -> None:
    """Run, report, photograph."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turn", default="t3")
    parser.add_argument("--example", default="fizzbuzz-refine", help="a scripted example under examples/")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the first screen")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, page_path = Path(tmp) / "runs.db", Path(tmp) / "run.html"
        run = json.loads(agentloop("run", str(REPO / "examples" / args.example / "task.yaml"),
                                   "--store", str(store), "--json"))
        agentloop("report", run["run_id"], "--store", str(store), "-o", str(page_path))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1040})
            page.goto(page_path.as_uri())
            page.click(f'.node[data-turn="{args.turn}"]')
            page.screenshot(path=str(args.out), full_page=args.full_page)
            browser.close()
    print(f"wrote {args.out} (run {run['run_id']}, turn {args.turn} selected)")


if __name__ == "__main__":
    main()
