"""``agentloop report``: one self-contained HTML page of a stored run.

The page needs no network: CSS, JavaScript and the SVG drawing of the graph are inline. Turn
data (untrusted model and program output) travels as JSON in a ``<script type="application/json">``
element, escaped by ``payload.script_json``, and the page's script renders it with ``textContent``
only. Everything else is rendered by jinja2 with autoescaping on.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..api import load_run
from ..core.outfile import check_output, write_atomic
from ..store import Store
from ..store.graph import TurnGraph
from ..views.metrics import run_metrics
from .layout import NODE_H, NODE_W, layout
from .payload import evolve_payload, script_json, summary, turn_payload

__all__ = ["render_report", "write_report"]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render_report(record: dict[str, Any], graph: TurnGraph) -> str:
    """The HTML page of a run, from its stored record and graph of turns."""
    turns = {t.id: turn_payload(graph, t) for t in graph.turns()}
    evolve = evolve_payload(record, graph)
    kinds = {(p, c): kind for kind in ("parent", "inspiration") for p, c in (evolve or {}).get("edges", {}).get(kind, [])}
    drawing = layout(graph, {tid: data["verdict"] for tid, data in turns.items()}, kinds,
                     (evolve or {}).get("born"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(_asset("page.html.j2"))
    js = _asset("report.js")
    return template.render(
        summary=summary(record, graph), metrics=run_metrics(graph, record.get("seconds")), layout=drawing, node_w=NODE_W, node_h=NODE_H,
        # our own files and escaped JSON: safe to place verbatim
        css=Markup(_asset("report.css")), js=Markup(js),
        script_hash="sha256-" + base64.b64encode(hashlib.sha256(js.encode()).digest()).decode(),
        evolve=evolve, data=Markup(script_json({"turns": turns, "order": list(turns), "evolve": evolve})),
    )


def write_report(run_id: str, out: Path, *, store: Store | str | Path | None = None) -> Path:
    """Write the report of ``run_id`` to ``out``; ``InputError`` for a folder that does not exist,
    ``RunNotFoundError`` for an unknown run. The file appears whole or not at all."""
    check_output(out)  # before any work: bad input writes nothing
    record, _, graph = load_run(run_id, store=store)
    return write_atomic(out, render_report(record, graph))
