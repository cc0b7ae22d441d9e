"""DeepConf's online early stop, measured: pass@1 and tokens with and without it on the same problems.

Reads the store of a sweep with two ``best_of_n`` configurations over the same tasks and seeds: a
plain one (every sample runs to its end) and one with ``confidence_stop: {warmup, keep}``
(examples/confidence/early_stop.yaml). Every candidate must have been scored on the hidden tests
(``score_candidates``, the sweep's default). Printed, as markdown:

- per configuration: pass@1 of the submitted candidate, coverage, the share of samples passing,
  completion, nominal and evaluated tokens per problem, each with its 95% bootstrap interval over problems
  (agentloop's ``Bootstrap``: the same draws for both configurations, so the differences are paired);
- the paired difference in pass@1 and the ratio of completion tokens (with the stop / without):
  tokens saved = 1 − ratio;
- the stops: how many samples were judged and stopped, at which token, against which threshold, and
  how many stopped samples' cut code already passes the hidden tests;
- what is knowable about the stopped samples had they finished: not the samples themselves (their
  rest was never generated), but the plain configuration's finished samples put through the same
  rule offline (threshold from its own first ``warmup`` samples; a later sample is stopped iff it
  has a full window and its lowest group confidence is below the threshold, which is exactly when
  the online check fires): how many it would stop, how many of those pass the hidden tests, and
  pass@1 had its submission been picked among the rest.

    python examples/confidence/early_stop.py STORE [--plain sample6] [--stop sample6_deepconf] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from statistics import median
from typing import NamedTuple

from agentloop.core.confidence import WINDOW, stop_threshold
from agentloop.store import Store
from agentloop.store.graph import Turn
from agentloop.sweep.measures import RunFacts, facts
from agentloop.sweep.stats import Bootstrap, Interval
from agentloop.sweep.tables import METHOD, ci_text


class NoPairs(Exception):
    """The store holds no task scored under both configurations."""


class Sampled(NamedTuple):
    """One scored run: its facts, its candidates in the order they were made, their hidden verdicts."""

    facts: RunFacts
    candidates: tuple[Turn, ...]
    hidden: dict[str, bool]
    strategy: dict


def load(store_path: str, config: str) -> dict[tuple[str, int], Sampled]:
    """Every scored run of ``config``, keyed by (task, seed)."""
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT task_name, seed, run_id, hidden_json FROM sweep_runs WHERE config = ? "
                          "AND hidden_json IS NOT NULL", (config,)).fetchall()
    store = Store(store_path, create=False)
    try:
        out = {}
        for task, seed, run_id, hidden_json in rows:
            record, turns = store.get_run(run_id), store.turns(run_id)
            hidden = json.loads(hidden_json)
            cands = tuple(sorted((t for t in turns if t.writes_code), key=lambda t: t.seq))
            out[(task, seed)] = Sampled(facts(record, turns, hidden, config=config, seed=seed), cands, hidden,
                                        dict(record.task.get("strategy", {})))
        return out
    finally:
        store.close()


def pick(candidates: tuple[Turn, ...], cut: set[str]) -> Turn | None:
    """The submission by the graph's rule (TurnGraph.best), candidates in ``cut`` counted as stopped."""
    def key(t: Turn) -> tuple:
        stopped = t.id in cut or t.stopped
        return (t.passed and not stopped, 0.0 if stopped else t.score or 0.0, not stopped, t.seq)
    return max(candidates, key=key) if candidates else None


def replay(run: Sampled, warmup: int, keep: float) -> tuple[float | None, set[str]]:
    """The threshold the run's first ``warmup`` candidates give, and the later candidates it would stop."""
    lows = [t.confidence.lowest_group for t in run.candidates[:warmup]
            if t.confidence is not None and t.confidence.lowest_group is not None]
    threshold = stop_threshold(lows, keep)
    if threshold is None:
        return None, set()
    # a full window and a lowest window below the threshold: the online check fires at the first such window
    return threshold, {t.id for t in run.candidates[warmup:] if t.confidence is not None
                       and t.confidence.lowest_group is not None and t.confidence.tokens >= WINDOW
                       and t.confidence.lowest_group < threshold}


def _passes(run: Sampled, turn: Turn | None) -> float:
    return float(turn is not None and run.hidden.get(turn.id, False))


def _row(name: str, values: list[Interval | None | str], digits: int = 3) -> str:
    return f"| {name} | " + " | ".join(v if isinstance(v, str) else "–" if v is None else v.text(digits)
                                       for v in values) + " |"


def report(store_path: str, plain: str = "sample6", stop: str = "sample6_deepconf") -> str:
    """The results as markdown (module docstring)."""
    a, b = load(store_path, plain), load(store_path, stop)
    keys = sorted(set(a) & set(b))
    if not keys:
        raise NoPairs(f"{store_path}: no task has scored runs of both '{plain}' and '{stop}'")
    A, B = [a[k] for k in keys], [b[k] for k in keys]
    setting = B[0].strategy.get("confidence_stop") or {}
    warmup, keep = int(setting.get("warmup", 0)), float(setting.get("keep", 1.0))
    boot = Bootstrap()
    lines = [f"Problems with both configurations scored (paired): {len(keys)} "
             f"({', '.join(sorted({t for t, _ in keys}))}); '{stop}': warm-up {warmup}, keep {keep}.", "",
             f"| measure, per problem | {plain} | {stop} | paired: {stop} − {plain} or {stop} / {plain} |",
             "|---|---|---|---|"]

    def per(runs: list[Sampled], f) -> list[float]:
        return [float(f(r)) for r in runs]

    sub = [per(x, lambda r: r.facts.passed) for x in (A, B)]
    lines.append(_row("pass@1 of the submitted candidate", [boot.mean(sub[0]), boot.mean(sub[1]),
                                                            boot.mean([y - x for x, y in zip(*sub)])]))
    cov = [per(x, lambda r: any(r.hidden.get(t.id, False) for t in r.candidates)) for x in (A, B)]
    lines.append(_row("coverage: some candidate passes", [boot.mean(cov[0]), boot.mean(cov[1]),
                                                          boot.mean([y - x for x, y in zip(*cov)])]))
    # a stopped sample is never submitted: it counts as failing even where its cut code passes (see _stops)
    good = [per(x, lambda r: sum(r.hidden.get(t.id, False) and not t.stopped for t in r.candidates)) for x in (A, B)]
    made = [per(x, lambda r: len(r.candidates)) for x in (A, B)]
    lines.append(_row("share of samples passing the hidden tests (stopped ones count as failing)",
                      [boot.ratio(good[0], made[0]), boot.ratio(good[1], made[1]), "–"]))
    for label, attr in (("completion tokens", "completion_tokens"), ("nominal tokens (prompt + completion)", "tokens"),
                        ("evaluated tokens (prompt not served from the KV cache + completion)", "evaluated_tokens")):
        spent = [per(x, lambda r, attr=attr: getattr(r.facts, attr)) for x in (A, B)]
        ratio = boot.ratio(spent[1], spent[0])
        lines.append(_row(label, [boot.mean(spent[0]), boot.mean(spent[1]), f"ratio {ci_text(ratio)}"], digits=1))
    secs = [per(x, lambda r: r.facts.seconds) for x in (A, B)]
    lines.append(_row("wall seconds (shared machine: indicative only)",
                      [boot.mean(secs[0]), boot.mean(secs[1]), f"ratio {ci_text(boot.ratio(secs[1], secs[0]))}"], digits=1))
    lines += ["", *_stops(B, warmup, keep), "", *_replayed(A, warmup, keep, boot), "", METHOD]
    return "\n".join(lines) + "\n"


def _stops(runs: list[Sampled], warmup: int, keep: float) -> list[str]:
    """What the online stop did: samples judged, stopped, where, and the stopped code's hidden verdicts."""
    judged = [t for r in runs for t in r.candidates[warmup:]]
    cut = [(r, t) for r in runs for t in r.candidates if t.stopped]
    finished = [t for t in judged if not t.stopped]
    lines = ["## The online stop", "",
             f"- Samples after the warm-up (judged by the threshold): {len(judged)}; stopped: {len(cut)}, "
             f"in {sum(any(t.stopped for t in r.candidates) for r in runs)} of {len(runs)} problems."]
    if cut:
        at = sorted(next(f.details["token"] for f in t.feedback if f.kind == "confidence") for _, t in cut)
        lines.append(f"- Stopped at token (window {WINDOW}): median {median(at):g}, range {at[0]}–{at[-1]}; "
                     f"all: {', '.join(map(str, at))}.")
        lines.append(f"- Completion tokens of a stopped sample: mean {sum(t.usage.completion_tokens for _, t in cut) / len(cut):.1f}; "
                     f"of a judged sample that finished: "
                     + (f"{sum(t.usage.completion_tokens for t in finished) / len(finished):.1f}." if finished else "–."))
        lines.append(f"- Stopped samples whose cut code already passes the hidden tests (a pass the stop threw "
                     f"away for certain): {sum(r.hidden.get(t.id, False) for r, t in cut)} of {len(cut)}.")
    thresholds = sorted(t for t in (replay(r, warmup, keep)[0] for r in runs) if t is not None)
    if thresholds:
        lines.append(f"- Threshold per problem (from its warm-up): median {median(thresholds):.3f}, "
                     f"range {thresholds[0]:.3f}–{thresholds[-1]:.3f}.")
    lines.append("- Whether a stopped sample would have passed had it finished is not knowable: its rest was never "
                 "generated. The replay below estimates it on the other configuration's finished samples.")
    return lines


def _replayed(runs: list[Sampled], warmup: int, keep: float, boot: Bootstrap) -> list[str]:
    """The same rule applied offline to finished samples: what it would cut, and what that would cost."""
    cut_by_run = [replay(r, warmup, keep)[1] for r in runs]
    judged = sum(len(r.candidates[warmup:]) for r in runs)
    cut = [(r, t) for r, ids in zip(runs, cut_by_run) for t in r.candidates if t.id in ids]
    kept = [(r, t) for r, ids in zip(runs, cut_by_run) for t in r.candidates[warmup:] if t.id not in ids]
    before = [_passes(r, pick(r.candidates, set())) for r in runs]
    after = [_passes(r, pick(r.candidates, ids)) for r, ids in zip(runs, cut_by_run)]
    share = lambda pairs: f"{sum(r.hidden.get(t.id, False) for r, t in pairs)} of {len(pairs)}"  # noqa: E731
    return ["## The same rule replayed on the plain configuration's finished samples", "",
            f"- Of {judged} samples after each problem's first {warmup}, the rule would stop {len(cut)} "
            f"(in {sum(bool(ids) for ids in cut_by_run)} of {len(runs)} problems).",
            f"- Passing the hidden tests: {share(cut)} of those it would stop; {share(kept)} of those it would keep.",
            f"- pass@1 of the submission picked among the samples it keeps: {ci_text(boot.mean(after))}, against "
            f"{ci_text(boot.mean(before))} among all; paired difference {ci_text(boot.mean([y - x for x, y in zip(before, after)]))}."]


def main() -> None:
    """Command line: print the report, and write it to ``--out`` if given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--plain", default="sample6", help="the configuration without the stop")
    parser.add_argument("--stop", default="sample6_deepconf", help="the configuration with confidence_stop")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        text = report(args.store, args.plain, args.stop)
    except NoPairs as exc:  # bad input: one line, exit 2, nothing written
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
