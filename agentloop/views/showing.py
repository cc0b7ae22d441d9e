"""Text and JSON views of a run for the CLI (``show``, progress lines).

Everything a model or a program wrote is untrusted: control characters (terminal escape
sequences included) are made visible before it reaches a terminal.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ..store.graph import Turn, TurnGraph
from ..store.result import RunResult, objective_of
from .metrics import run_metrics

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_text(text: str, limit: int = 160) -> str:
    """One display line: control characters escaped, newlines folded, length bounded."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _verdicts(turn: Turn) -> str:
    return " ".join(f"{f.kind}:{'pass' if f.passed else 'FAIL'}" for f in turn.feedback)


def format_event(event: dict[str, Any]) -> str | None:
    """A progress line for stderr, or ``None`` for events not worth a line."""
    run = event.get("run_id", "?")
    if event["event"] == "start":
        return f"[{run}] {'resuming' if event.get('resumed') else 'running'} {event.get('task')}"
    if event["event"] == "replayed":
        return f"[{run}] {event['turn']} {event['role']} (already finished, replayed from the store)"
    if event["event"] == "turn":
        verdicts = " ".join(f"{k}:{'pass' if ok else 'FAIL'}" for k, ok in event.get("verdicts", []))
        score = "" if event.get("score") is None else f" score={event['score']:.2f}"
        return f"[{run}] {event['turn']} {event['role']}{score} {verdicts} ({event.get('tokens', 0)} tokens)".rstrip()
    if event["event"] == "confidence_stop":  # best_of_n's DeepConf threshold, set by its warm-up samples
        low = event.get("threshold")
        threshold = "none (the warm-up samples report no confidence)" if low is None else f"{low:.3f}"
        return f"[{run}] confidence stop: threshold {threshold} from {event.get('warmup')} warm-up samples"
    if event["event"] == "warning":
        return f"[{run}] WARNING: {safe_text(event.get('message', ''))}"
    if event["event"] == "end":
        return f"[{run}] {event['status']} ({event.get('stop_reason')})"
    return None


def _extra_usage(turn: Turn) -> str:
    out = f" ({turn.usage.cached_tokens} cached)" if turn.usage.cached_tokens else ""
    return out + (f" ${turn.usage.cost_usd:.6f}" if turn.usage.cost_usd is not None else "")


def format_turn(turn: Turn) -> list[str]:
    """Lines describing one turn in ``show``."""
    parents = f" <- {', '.join(turn.parents)}" if turn.parents else ""
    score = "" if turn.score is None else f"  score {turn.score:.2f}  {_verdicts(turn)}"
    lines = [f"{turn.id:>4} {turn.role:<8}{parents}  [{turn.model}]{score}  "
             f"tokens {turn.usage.prompt_tokens}+{turn.usage.completion_tokens}{_extra_usage(turn)}  {turn.seconds:.2f}s"]
    if turn.confidence is not None:
        lines.append(f"       {turn.confidence.describe()}")
    for f in turn.feedback:
        if not f.passed or "objective" in f.details:  # a scored objective's value is worth a line either way
            lines.append(f"       {f.kind}: {safe_text(f.summary)}")
    if turn.role == "critic":
        lines.append(f"       critique: {safe_text(turn.output)}")
    elif turn.model.startswith("agentloop:") and turn.output:  # a computed step (Run.note): its first line says what it did
        lines.append(f"       {safe_text(turn.output.splitlines()[0], 240)}")
    return lines


def format_run(result: RunResult | None, *, record: dict[str, Any] | None = None, graph: TurnGraph | None = None) -> str:
    """A human summary of a run and its graph of turns."""
    if result is not None:
        graph = graph if graph is not None else result.graph
        score = "n/a (no candidate)" if result.score is None else result.score  # never a bare None
        head = (f"run {result.run_id}  {result.task}  {result.status.upper()}  score {score}  "
                f"{result.turns} turns  tokens {result.tokens.prompt_tokens}+{result.tokens.completion_tokens}  "
                f"{result.seconds:.1f}s  stop: {result.stop_reason or '-'}")
        if result.hidden_tests is not None:
            head += f"  hidden tests: {'passed' if result.hidden_tests['passed'] else 'FAILED'}"
        head += _objective(result, graph)
    else:
        if record is None or graph is None:
            raise ValueError("format_run: a run without its result needs its record and graph")
        head = f"run {record['id']}  {record['task_name']}  {record['status'].upper()}"
        if record.get("error"):
            head += f"  error: {safe_text(record['error'])}"
    lines = [head]
    for turn in graph.turns():
        lines.extend(format_turn(turn))
    seconds = result.seconds if result is not None else (record or {}).get("seconds")
    lines.extend(format_metrics(run_metrics(graph, seconds)))
    lines.extend(f"isolation: {level}" for level in isolation_levels(graph))
    return "\n".join(lines)


def _objective(result: RunResult, graph: TurnGraph) -> str:
    """The submitted candidate's scored objective (a `score` check), if it has one."""
    best = next((t for t in reversed(graph.turns()) if t.produces_candidate and (t.candidate, t.score) ==
                 (result.solution, result.score)), None)
    values = [f.details["objective"] for f in (best.feedback if best else ()) if "objective" in f.details]
    return f"  objective {values[0]:g} ({best.id})" if values and best is not None else ""


def isolation_levels(graph: TurnGraph) -> list[str]:
    """The distinct sandbox isolation levels the run's checks actually used."""
    found = [f.details.get("isolation") for t in graph.turns() for f in t.feedback]
    return sorted({str(level) for level in found if level})


def format_metrics(m: dict[str, Any]) -> list[str]:
    """The metrics block of ``show``."""
    def shown(value: Any, none: str) -> str:  # a measure with nothing to measure says why, never a bare None
        return none if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    out = [f"metrics: {m['candidates']} candidates, {m['passing_candidates']} passing, "
           f"candidates/pass {shown(m['candidates_per_pass'], 'n/a (none passed)')}, "
           f"tokens/pass {shown(m['tokens_per_pass'], 'n/a (none passed)')}, verdict flips {m['verdict_flips']}, "
           f"touched named lines {shown(m['touched_named_lines_rate'], 'n/a (no lines named)')}",
           f"compute: {m['tokens']} tokens ({m['evaluated_tokens']} evaluated), {m['model_calls']} model calls, "
           f"{shown(m['wall_s'], 'n/a')} s" + (f", {m['flops']:.3g} FLOPs" if m["flops"] is not None else "")]
    for r in m["refinements"]:
        touched = {None: "no lines named", True: "touched named lines", False: "did NOT touch named lines"}
        out.append(f"  {r['turn']} from {r['from']}: fixed {r['fixed'] or '-'}, broke {r['broke'] or '-'}, "
                   f"{touched[r['touched_named_lines']]}")
    return out


def run_json(record: dict[str, Any], graph: TurnGraph) -> dict[str, Any]:
    """The ``show --json`` object of SPEC §2."""
    turns = []
    for t in graph.turns():
        d = t.to_dict()
        d["feedback"] = [{"kind": f.kind, "passed": f.passed, "score": f.score, "summary": f.summary,
                          "details": f.details} for f in t.feedback]
        turns.append(d)
    return {"run_id": record["id"], "task": record["task_name"], "status": record["status"],
            "stop_reason": record.get("stop_reason"), "error": record.get("error"),
            "result": record.get("result"), "metrics": run_metrics(graph, record.get("seconds")), "isolation": isolation_levels(graph),
            "objective": stored_objective(record, graph), "turns": turns}


def stored_objective(record: dict[str, Any], graph: TurnGraph) -> dict[str, Any] | None:
    """A stored run's scored objective: its result's, else (unfinished, or stored before results had one)
    computed from the graph with the best candidate as the submitted one."""
    result = record.get("result") or {}
    return result["objective"] if "objective" in result else objective_of(graph, graph.best())


def runs_table(records: list[Any]) -> str:
    """``agentloop runs``: one line per stored run, newest first."""
    lines = [f"{'RUN':<14}{'CREATED (UTC)':<18}{'TASK':<24}{'STATUS':<12}{'SCORE':>6}{'TURNS':>6}{'TOKENS':>9}{'SECONDS':>9}"]
    for r in records:
        result = r.result or {}
        tokens = result.get("tokens") or {}
        score = "-" if result.get("score") is None else f"{result['score']:.2f}"
        total = (tokens.get("prompt") or 0) + (tokens.get("completion") or 0) if tokens else "-"  # "cached" is part of "prompt"
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created))
        lines.append(f"{r.id:<14}{created:<18}{safe_text(r.task_name)[:23]:<24}{r.status:<12}{score:>6}"
                     f"{result.get('turns', '-')!s:>6}{total!s:>9}{r.seconds:>9.1f}")
    return "\n".join(lines)


def runs_json(records: list[Any]) -> list[dict[str, Any]]:
    """``agentloop runs --json``: each run's row and its result object (null while it has none)."""
    return [{"run_id": r.id, "task": r.task_name, "status": r.status, "created": r.created, "seconds": r.seconds,
             "stop_reason": r.stop_reason, "error": r.error, "result": r.result} for r in records]
