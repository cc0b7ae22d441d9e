"""What a sweep measures: unbiased pass@k, coverage, compute, and pass rate against compute.

Every number is scored on hidden tests (never shown to any agent). ``pass_at_k`` is the
estimator of Chen et al. (2021) in its numerically stable product form. ``RunFacts`` reduces one
stored run to what the tables and plots need; its ``curve`` gives, after each candidate, the
tokens and seconds spent so far and whether the candidate the run would have submitted had it
stopped there (the best so far by the visible checks) passes the hidden tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..graph import Turn, TurnGraph
from ..store import RunRecord


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one of k samples drawn without replacement from n, c of them correct, is correct).

    ``1 - C(n-c, k) / C(n, k)`` computed as ``1 - prod_{i=n-c+1}^{n} (1 - k/i)``, which never
    forms the huge binomials.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


@dataclass(frozen=True)
class Point:
    """The state of a run after its ``index``-th candidate."""

    index: int
    tokens: int
    seconds: float
    passed: bool  # the best-so-far candidate passes the hidden tests


@dataclass(frozen=True)
class RunFacts:
    """One run of a sweep, reduced to numbers."""

    run_id: str
    task: str
    config: str
    seed: int
    status: str
    passed: bool  # the submitted candidate passes the hidden tests
    prompt_tokens: int
    completion_tokens: int
    model_calls: int
    seconds: float
    cost_usd: float | None
    candidates: int
    any_passed: bool | None  # some candidate passes the hidden tests (None: candidates not scored)
    model_tests: bool  # model-written tests took part (CodeT ranking, advisory tests)
    curve: tuple[Point, ...] = field(default=())
    # per candidate, scored on the hidden tests (None: not every candidate was scored)
    hidden_passing: int | None = None  # candidates passing the hidden tests
    visible_passing: int = 0  # candidates passing every visible check
    visible_only: int | None = None  # of those, the ones failing the hidden tests (the visible checks' false passes)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain data (results.json)."""
        out = {k: v for k, v in self.__dict__.items() if k != "curve"}
        out["curve"] = [p.__dict__ for p in self.curve]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunFacts:
        """Inverse of ``to_dict``."""
        known = {f.name for f in fields(cls)}  # results.json of an older version lacks the newer fields
        return cls(**{**{k: v for k, v in d.items() if k in known}, "curve": tuple(Point(**p) for p in d["curve"])})


def facts(record: RunRecord, turns: list[Turn], hidden: dict[str, bool], *, config: str, seed: int) -> RunFacts:
    """Reduce a finished stored run and its candidates' hidden verdicts to ``RunFacts``."""
    result = record.result or {}
    submitted = bool((result.get("hidden_tests") or {}).get("passed", False)) and record.status != "error"
    graph = TurnGraph.from_turns(turns)
    usage = graph.usage()
    calls = sum(1 for t in turns if not t.model.startswith("agentloop:"))
    calls += sum(f.details.get("model_calls", 0) for t in turns for f in t.feedback)
    cands = graph.candidates()
    # a reply with no code block is a candidate that fails every test, hidden ones included
    hidden = {**{t.id: False for t in cands if t.candidate is None}, **hidden}
    scored_all = all(t.id in hidden for t in cands)
    model_tests = any(f.kind == "model_tests" or f.details.get("model_written_tests") for t in turns for f in t.feedback)
    shown = [t for t in cands if t.passed]
    return RunFacts(run_id=record.id, task=record.task_name, config=config, seed=seed, status=record.status,
                    passed=submitted, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                    model_calls=calls, seconds=round(record.seconds, 3), cost_usd=usage.cost_usd,
                    candidates=len(cands), any_passed=any(hidden.values()) if scored_all else None,
                    model_tests=model_tests, curve=_curve(turns, hidden, submitted) if scored_all else (),
                    hidden_passing=sum(hidden[t.id] for t in cands) if scored_all else None,
                    visible_passing=len(shown), visible_only=sum(not hidden[t.id] for t in shown) if scored_all else None)


def _curve(turns: list[Turn], hidden: dict[str, bool], submitted: bool) -> tuple[Point, ...]:
    """After each candidate: compute spent so far, and whether the best so far passes hidden tests."""
    points: list[Point] = []
    start = min((t.started for t in turns), default=0.0)
    tokens, end, best = 0, 0.0, None
    for turn in sorted(turns, key=lambda t: t.seq):
        tokens += turn.usage.total
        end = max(end, turn.started + turn.seconds - start)
        if turn.writes_code:
            if best is None or (turn.passed, turn.score or 0.0, turn.seq) > (best.passed, best.score or 0.0, best.seq):
                best = turn
            points.append(Point(index=len(points) + 1, tokens=tokens, seconds=round(end, 3), passed=hidden[best.id]))
    if points:  # the last point is what the run really submitted (a strategy may choose among equals)
        points[-1] = Point(points[-1].index, tokens, points[-1].seconds, submitted)
    return tuple(points)


def value_at(curve: tuple[Point, ...], final: bool, *, index: int | None = None, tokens: float | None = None,
             seconds: float | None = None) -> bool:
    """Whether the run's submission would pass had it stopped at that many candidates/tokens/seconds."""
    if not curve:
        return final
    reached = [p for p in curve if (index is None or p.index <= index) and (tokens is None or p.tokens <= tokens)
               and (seconds is None or p.seconds <= seconds)]
    return reached[-1].passed if reached else False
