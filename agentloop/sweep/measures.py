"""What a sweep measures: unbiased pass@k, coverage, compute, and pass rate against compute.

Every number is scored on hidden tests (never shown to any agent). ``pass_at_k`` is the
estimator of Chen et al. (2021) in its numerically stable product form. ``RunFacts`` reduces one
stored run to what the tables and plots need; its ``curve`` gives, after each candidate, the
tokens and seconds spent so far and whether the candidate the run would have submitted had it
stopped there (the best so far by the visible checks) passes the hidden tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..core.status import RunStatus
from ..store import RunRecord
from ..store.graph import Turn, TurnGraph
from ..views.metrics import compute, model_calls


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
    evaluated_tokens: int = 0  # prompt tokens not served from the KV cache, plus completion, so far
    model_calls: int = 0  # model calls so far (judge calls included)
    flops: float | None = None  # FLOPs so far (None when a call's model has no parameter count)


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
    evaluated_tokens: int = 0  # prompt tokens not served from the KV cache, plus completion tokens
    flops: float | None = None  # 2 x parameters x evaluated tokens (local models; None when unknown)
    # per candidate, scored on the hidden tests (None: not every candidate was scored)
    hidden_passing: int | None = None  # candidates passing the hidden tests
    visible_passing: int = 0  # candidates passing every visible check
    visible_only: int | None = None  # of those, the ones failing the hidden tests (the visible checks' false passes)
    model_inputs: bool = False  # the submission was selected by outputs on model-written inputs (S*, disagreement)
    # a task with a `score` check: the submission's score on the check's [0, 1] scale, and whether any
    # candidate reached the target (None: the task has no scored objective; see result.objective_of)
    objective_score: float | None = None
    reached: bool | None = None

    @property
    def tokens(self) -> int:
        """Nominal tokens: prompt plus completion."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def wall_s(self) -> float:
        """Wall seconds the run took (across resumes)."""
        return self.seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain data (results.json), with the derived ``tokens`` and ``wall_s`` spelled out."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "curve"}
        out.update(tokens=self.tokens, wall_s=self.wall_s)
        out["curve"] = [asdict(p) for p in self.curve]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunFacts:
        """Inverse of ``to_dict``."""
        # the derived tokens and wall_s are not fields; results.json of an older version lacks the newer ones
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in d.items() if k in known}, "curve": tuple(Point(**p) for p in d["curve"])})


def facts(record: RunRecord, turns: list[Turn], hidden: dict[str, bool], *, config: str, seed: int) -> RunFacts:
    """Reduce a finished stored run and its candidates' hidden verdicts to ``RunFacts``."""
    result = record.result or {}
    submitted = bool((result.get("hidden_tests") or {}).get("passed", False)) and record.status != RunStatus.ERROR
    graph = TurnGraph.from_turns(turns)
    usage, spent = graph.usage(), compute(graph, record.seconds)
    cands = graph.candidates()
    # a reply with no code block is a candidate that fails every test, hidden ones included
    hidden = {**{t.id: False for t in cands if t.candidate is None}, **hidden}
    # a task without hidden tests (a scored objective) has no hidden verdicts at all, not all-failing ones
    scored_all = bool(record.task.get("hidden_tests")) and all(t.id in hidden for t in cands)
    model_tests = any(f.kind == "model_tests" or f.details.get("model_written_tests") for t in turns for f in t.feedback)
    shown = [t for t in cands if t.passed]
    # only a selection that ran and chose counts: a recorded failure leaves the default pick
    model_inputs = any(f.details.get("model_written_inputs") and "error" not in f.details for t in turns for f in t.feedback)
    objective = result.get("objective") or {}
    # a scored task none of whose candidates got a score (all failed cheaper checks, or an error) scored 0
    scored_task = bool(objective) or any(f.get("kind") == "score" for f in record.task.get("feedback") or [])
    return RunFacts(run_id=record.id, task=record.task_name, config=config, seed=seed, status=record.status,
                    passed=submitted, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                    model_calls=spent["model_calls"], seconds=round(record.seconds, 3), cost_usd=usage.cost_usd,
                    candidates=len(cands), any_passed=any(hidden.values()) if scored_all else None,
                    model_tests=model_tests, curve=_curve(turns, hidden, submitted) if scored_all else (),
                    evaluated_tokens=spent["evaluated_tokens"], flops=spent["flops"],
                    hidden_passing=sum(hidden[t.id] for t in cands) if scored_all else None,
                    visible_passing=len(shown), visible_only=sum(not hidden[t.id] for t in shown) if scored_all else None,
                    model_inputs=model_inputs,
                    objective_score=(objective.get("submitted_score") or 0.0) if scored_task else None,
                    reached=bool(objective.get("reached")) if scored_task else None)


def _curve(turns: list[Turn], hidden: dict[str, bool], submitted: bool) -> tuple[Point, ...]:
    """After each candidate: compute spent so far, and whether the best so far passes hidden tests."""
    points: list[Point] = []
    start = min((t.started for t in turns), default=0.0)
    flops: float | None  # None from the first call whose FLOPs are unknown
    tokens, evaluated, calls, flops, end, best = 0, 0, 0, 0.0, 0.0, None
    for turn in sorted(turns, key=lambda t: t.seq):
        tokens += turn.usage.total
        evaluated += turn.usage.evaluated
        calls += model_calls([turn])
        if flops is not None and not turn.model.startswith("agentloop:"):
            flops = None if turn.usage.flops is None else flops + turn.usage.flops
        end = max(end, turn.started + turn.seconds - start)
        if turn.produces_candidate:
            if best is None or (turn.passed, turn.score or 0.0, turn.seq) > (best.passed, best.score or 0.0, best.seq):
                best = turn
            points.append(Point(index=len(points) + 1, tokens=tokens, seconds=round(end, 3), passed=hidden[best.id],
                                evaluated_tokens=evaluated, model_calls=calls, flops=flops))
    if points:  # the last point is what the run really submitted (a strategy may choose among equals)
        points[-1] = replace(points[-1], tokens=tokens, passed=submitted, evaluated_tokens=evaluated, model_calls=calls,
                             flops=flops)
    return tuple(points)


def value_at(curve: tuple[Point, ...], final: bool, *, index: int | None = None, **limits: float | None) -> bool:
    """Whether the run's submission would pass had it stopped at that many candidates, or once it had
    spent that much on each compute axis given (a ``Point`` field: tokens, evaluated_tokens, seconds,
    model_calls, flops)."""
    if not curve:
        return final
    given = {axis: x for axis, x in limits.items() if x is not None}
    reached = [p for p in curve if (index is None or p.index <= index)
               and all(getattr(p, axis) is not None and getattr(p, axis) <= x for axis, x in given.items())]
    return reached[-1].passed if reached else False
