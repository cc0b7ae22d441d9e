"""``agentloop report --sweep DIR``: one self-contained HTML page of a sweep's results.

It shows what ``agentloop sweep --out DIR`` wrote: the results table (``results.csv``), the
summary (``summary.md``, as text) and every PNG plot, inlined as data URIs. No script runs and
nothing loads from outside (the Content-Security-Policy allows only inline styles and data
images); every cell is escaped by jinja2's autoescaping, since task names and labels may come
from user files.
"""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import jinja2

from ..core.outfile import check_output, write_atomic
from ..errors import InputError

MAX_PLOT_BYTES = 8 << 20

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>agentloop sweep {{ name }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; }
table { border-collapse: collapse; margin: 12px 0 24px; }
th, td { border: 1px solid #d0d5dd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f2f4f7; }
pre { background: #f7f8fa; padding: 12px; overflow-x: auto; }
figure { display: inline-block; margin: 0 16px 16px 0; } img { max-width: 640px; border: 1px solid #e4e7ec; }
</style></head>
<body>
<h1>Sweep <code>{{ name }}</code></h1>
<h2>Results</h2>
<table id="results">
<thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>
<h2>Plots</h2>
{% for plot in plots %}<figure><img alt="{{ plot.name }}" src="data:image/png;base64,{{ plot.data }}">
<figcaption>{{ plot.name }}</figcaption></figure>{% endfor %}
<h2>Summary</h2>
<pre id="summary">{{ summary }}</pre>
</body></html>
"""


def render_sweep_report(folder: Path) -> str:
    """The HTML page of the sweep results in ``folder`` (a sweep's ``--out``)."""
    results = folder / "results.csv"
    if not results.is_file():
        raise InputError(f"{folder}: --sweep: no results.csv (is this a sweep's --out folder?)")
    with results.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    summary_file = folder / "summary.md"
    summary = summary_file.read_text(encoding="utf-8") if summary_file.is_file() else "(no summary.md)"
    plots = [{"name": p.name, "data": base64.b64encode(p.read_bytes()).decode("ascii")}
             for p in sorted(folder.glob("*.png")) if p.is_file() and p.stat().st_size <= MAX_PLOT_BYTES]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(name=folder.name, header=table[0] if table else [], rows=table[1:],
                                         plots=plots, summary=summary)


def write_sweep_report(folder: Path, out: Path) -> Path:
    """Write the sweep page for ``folder`` to ``out``; bad input writes nothing."""
    check_output(out)
    if not folder.is_dir():
        raise InputError(f"{folder}: --sweep: not a folder")
    return write_atomic(out, render_sweep_report(folder))
