"""Runs a strategy under a budget, turn by turn, committing each finished turn to the store.

A strategy asks ``Run.turn(role, parents)`` for each agent turn. The orchestrator renders the
role's prompt, calls the role's model with what is left of the budget, parses the candidate,
runs the task's feedback on it in the sandbox, and commits the turn before returning it. On
resume the strategy is simply run again: turns the store already holds are handed back in
order instead of being recomputed (``Replay``), so a resumed run never repeats or loses a finished
turn. ``Budget`` checks the limits; strategies see the run only as a ``RunContext``.
A run holds its lock (``runlock``) for its whole life, and with ``stop_signals`` a SIGINT or
SIGTERM cancels it cleanly and records it as ``interrupted`` (``signals``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..checks import Cascade, Feedback, combined_score, run_checks, stopped_early
from ..checks.hidden import hidden_verdict
from ..checks.validators import validate
from ..core.parsing import extract_code
from ..core.status import RunStatus
from ..core.telemetry import traced_run, traced_turn
from ..errors import ModelError, RunError
from ..models import ModelPool, Request
from ..models.base import Completion, count_prompt_tokens
from ..sandbox import Sandbox
from ..store import Store
from ..store.graph import Turn, TurnGraph
from ..store.result import RunResult
from ..strategies import get_strategy
from ..task import FeedbackSpec, Task
from .budget import Budget, BudgetExhausted, Metered
from .context import Adopter, RunContext
from .events import End, Event, EventSink, Replayed, RunWarning, Start, TurnDone, build
from .prompting import PromptRenderer, prompt_hash
from .replay import Replay
from .roles import ROLE_SPECS, context_for, conversation, task_view
from .runlock import RunLock
from .siblings import Siblings
from .signals import Interrupted, SignalStop
from .structured import Structured, complete_structured

MODEL_CALL_LIMIT_S = 300.0  # no single model call may run longer, whatever the budget says


class Run(RunContext):
    """The live run a strategy drives (its ``RunContext``): the task, the graph so far, and ``turn``."""

    def __init__(self, *, run_id: str, task: Task, models: dict[str, str], seed: int | None, store: Store,
                 pool: ModelPool, sandbox: Sandbox, replay: list[Turn], base_seconds: float,
                 on_event: EventSink | None, validators: tuple[Callable[[str], Any], ...] = (),
                 attempt: int = 1) -> None:
        self.run_id, self.task, self.models, self.seed = run_id, task, models, seed
        self.attempt = attempt  # 1 for the first start, +1 per resume; stored with each turn
        self.graph = TurnGraph()
        self._store, self._pool, self._sandbox, self._on_event = store, pool, sandbox, on_event
        self._validators = validators
        self._replay = Replay(run_id, replay)
        self._renderer = PromptRenderer(task.source_dir)
        self._siblings = Siblings(pool.calls)  # sibling turns of one prompt share one model call
        self._next_seq = 1
        # the graph counts committed turns' tokens; the meter holds those of calls in flight
        self.budget = Budget(task.budget, lambda: self.graph.usage().total, base_seconds)
        self.refused: str | None = None  # why the budget last refused a turn, if it did
        self.chosen: Turn | None = None  # a strategy's pick among equally good candidates

    def seconds(self) -> float:
        """Wall seconds spent on this run, across resumes."""
        return self.budget.seconds()

    def emit(self, event: Event | str, **fields: Any) -> None:
        """Send a progress event (its record, or its name and fields: ``events.build``) to the sink, if any."""
        record = event if isinstance(event, Event) else build(event, self.run_id, **fields)
        if self._on_event is not None:
            self._on_event(record.to_dict())

    async def turn(self, role: str, *, parents: list[Turn], temperature: float | None = None, stop_below: float | None = None,
                   template: str | None = None, reject_repeats: bool = False, advisory_tests: str | None = None,
                   model: str | None = None, adopt: Adopter | None = None, cascade: Cascade | None = None,
                   context: dict[str, Any] | None = None) -> Turn:
        """One agent turn derived from ``parents``; raises ``BudgetExhausted`` when the budget is spent.

        ``temperature`` overrides the role's (a strategy that samples for diversity sets it); ``template`` renders
        ``prompts/<template>.j2`` instead of the role's own; with ``reject_repeats`` a candidate identical to an earlier
        failed one is not checked again but rejected with feedback saying so; ``advisory_tests`` (model-written pytest
        code) run too, shown to the agents but never counted; ``model`` is a URI instead of the role's; ``adopt`` reads
        the reply instead of the code parser (a rejection it returns is the only feedback); ``cascade`` runs the checks
        stage by stage (``run_checks``); ``context`` adds template variables. Turns may run concurrently: each takes its
        sequence number before its first await, so one started in a fixed order replays identically. ``stop_below``: Request's.
        """
        if self._next_seq in self._replay:  # a stored turn is replayed whatever the budget says now
            seq, self._next_seq = self._next_seq, self._next_seq + 1
            return self._replayed(seq, role)
        if (reason := self.budget.refusal(self._next_seq - 1)) is not None:
            raise BudgetExhausted(reason)
        uri = model or self.models.get(role, self.models["default"])
        messages = conversation(parents, self._renderer.render(template or role, {**context_for(self.task, parents), **(context or {})}))
        backend = self._pool.get(uri)
        # counted and reserved before the first await: concurrent turns see each other's reservations
        request, reserved = self.budget.meter.hold(replace(self._request(role, self._next_seq, temperature), stop_below=stop_below),
                                                   count_prompt_tokens(backend, messages))
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        held = [reserved]  # tokens this turn holds until it is committed (its calls' usage is counted then)
        try:
            return await self._complete_turn(role, seq, parents, uri, backend, messages, request, held,
                                             reject_repeats=reject_repeats, advisory_tests=advisory_tests, adopt=adopt,
                                             cascade=cascade)
        finally:
            self.budget.meter.release(sum(held))

    @traced_turn
    async def _complete_turn(self, role: str, seq: int, parents: list[Turn], uri: str, model: Any,
                             messages: list[dict[str, str]], request: Request, held: list[int], *,
                             reject_repeats: bool, advisory_tests: str | None, adopt: Adopter | None, cascade: Cascade | None) -> Turn:
        try:
            completion = await self._siblings.complete(model, messages, request)
        except ModelError:
            if self.budget.out_of_time():
                raise BudgetExhausted("budget:max_seconds") from None  # the call's deadline was the budget's
            raise
        held[0] = self.budget.meter.settle(held[0], completion.usage.total)  # what it spent, held until committed
        candidate: str | None = None
        feedback: tuple[Feedback, ...] = ()
        score: float | None = None
        side: list[Completion] = []  # the judge's calls
        if ROLE_SPECS[role].produces_candidate:
            candidate, repeat = adopt(completion.text) if adopt else (
                extract_code(completion.text, self.task.language, self.task.entry_point)
                if self.task.output == "code" else completion.text.strip() or None, None)
            repeat = repeat or stopped_early(completion.stopped) or (self._failed_before(candidate) if reject_repeats else None)
            feedback = (repeat,) if repeat else tuple(await self._check(candidate, seq, side, held, cascade))
            if advisory_tests and candidate and not repeat:
                feedback += (await self._advisory(candidate, advisory_tests),)
            score = combined_score(list(feedback))
        usage = sum((c.usage for c in side), completion.usage)  # a judge's calls count towards this turn
        turn = Turn(id=f"t{seq}", seq=seq, parents=tuple(p.id for p in parents), role=role, model=uri,
                    messages=tuple(messages), prompt_hash=prompt_hash(messages), output=completion.text,
                    candidate=candidate, feedback=feedback, score=score, usage=usage, confidence=completion.confidence,
                    started=time.time() - completion.latency_s, seconds=round(completion.latency_s, 4))
        turn = self._commit(turn)
        self.emit(TurnDone(self.run_id, turn=turn.id, role=role, score=score, passed=turn.passed,
                           verdicts=[(f.kind, f.passed) for f in feedback], tokens=usage.total))
        return turn

    def note(self, role: str, *, parents: list[Turn], output: str, details: dict[str, Any]) -> Turn:
        """Record a step the strategy computed itself (no model call), e.g. CodeT's agreement table.

        It is a turn like any other (stored, replayed, shown), with model ``agentloop:<role>`` and
        its data in one feedback entry of kind ``<role>`` that never counts as a check.
        """
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        if seq in self._replay:
            return self._replayed(seq, role)
        info = Feedback(kind=role, passed=True, score=1.0, summary=output[:2000], details=details)
        turn = Turn(id=f"t{seq}", seq=seq, parents=tuple(p.id for p in parents), role=role, model=f"agentloop:{role}",
                    messages=(), prompt_hash="", output=output, feedback=(info,), started=time.time())
        turn = self._commit(turn)
        self.emit(TurnDone(self.run_id, turn=turn.id, role=role, score=None, passed=False, verdicts=[], tokens=0))
        return turn

    def _commit(self, turn: Turn) -> Turn:
        """Store the finished turn (committed before its progress event is emitted), then graph it."""
        stored = self._store.add_turn(self.run_id, turn, self.seconds(), attempt=self.attempt)
        if (stored.role, stored.prompt_hash) != (turn.role, turn.prompt_hash):
            raise RunError(f"run {self.run_id}: step {turn.seq} is already stored as a different {stored.role} turn"
                           " (was the run written by two processes at once?)")
        self.graph.add(stored)
        return stored

    async def run_tests(self, code: str, tests: str | FeedbackSpec) -> Feedback:
        """Run pytest ``tests`` (e.g. model-written ones), or any one check ``spec``, against ``code`` in the sandbox."""
        spec = tests if isinstance(tests, FeedbackSpec) else FeedbackSpec(kind="tests", code=tests)
        return (await run_checks(code, self.task, self._sandbox, specs=[spec]))[0]

    async def _advisory(self, code: str, tests: str) -> Feedback:
        fb = await self.run_tests(code, tests)
        return replace(fb, kind="model_tests", advisory=True, weight=0.0,
                       summary=f"(model-written tests, advisory: they may be wrong) {fb.summary}",
                       details={**fb.details, "model_written": True})

    def choose(self, turn: Turn) -> None:
        """Submit ``turn`` as the run's result instead of the graph's best.

        Only among candidates as good as the best on the task's own checks: a strategy's own
        ranking (model-written tests, votes) may break ties but never overrule those checks.
        """
        best = self.graph.best()
        if best is not None and (turn.passed, turn.score) == (best.passed, best.score):
            self.chosen = turn

    async def maybe_turn(self, role: str, *, parents: list[Turn], temperature: float | None = None) -> Turn | None:
        """``turn``, or ``None`` when the budget refuses it (recorded in ``refused``): for concurrent
        branches, one branch refused by the budget must not cancel its siblings."""
        try:
            return await self.turn(role, parents=parents, temperature=temperature)
        except BudgetExhausted as exc:
            self.refused = exc.reason
            return None

    async def sample(self, role: str, count: int, *, parents: list[Turn] | None = None,
                     temperature: float | None = None) -> list[Turn]:
        """``count`` turns of ``role`` at once, concurrently; those the budget refused are left out."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.maybe_turn(role, parents=parents or [], temperature=temperature))
                     for _ in range(count)]
        return [turn for t in tasks if (turn := t.result()) is not None]

    def _judge_uri(self) -> str:
        """Feedback kinds that consult a model (judge) use the judge's model, else the critic's."""
        return self.models.get("judge") or self.models.get("critic") or self.models["default"]

    def _failed_before(self, candidate: str | None) -> Feedback | None:
        """A ``repeat`` rejection if ``candidate`` is (up to whitespace) an earlier failed candidate."""
        norm = None if candidate is None else " ".join(candidate.split())
        for earlier in self.graph.candidates() if norm is not None else ():
            if not earlier.passed and earlier.candidate is not None and " ".join(earlier.candidate.split()) == norm:
                return Feedback(kind="repeat", passed=False, score=0.0,
                                summary=f"This code is the same as the code of turn {earlier.id}, which already failed "
                                        "its checks. Do not repeat it: write a different solution.")
        return None

    def _request(self, role: str, seq: int, override: float | None = None) -> Request:
        spec = ROLE_SPECS[role]
        chosen = self.task.sampling.get(role)
        max_tokens = chosen.max_tokens if chosen and chosen.max_tokens else spec.max_tokens
        temperature = chosen.temperature if chosen and chosen.temperature is not None else spec.temperature
        temperature = override if override is not None else temperature
        timeout = self.budget.call_timeout(MODEL_CALL_LIMIT_S)
        # a code reply ends where its code block closes: nothing after it is ever read
        return Request(role=role, max_tokens=max_tokens, temperature=temperature,
                       seed=None if self.seed is None else self.seed + seq, timeout_s=timeout,
                       stop_at_fence=spec.produces_candidate and self.task.output == "code")

    async def _check(self, candidate: str | None, seq: int, side: list[Completion], held: list[int],
                     cascade: Cascade | None) -> list[Feedback]:
        if candidate is None:
            return [Feedback(kind="parse", passed=False, score=0.0,
                             summary="No code block was found in the reply: answer with one fenced code block.")]

        async def ask(template: str, variables: dict[str, Any], schema: type) -> Structured:
            uri = self._judge_uri()
            messages = self._renderer.render(template, {"task": task_view(self.task), **variables})
            try:
                metered = Metered(self.budget.meter, self._pool.get(uri), held, self._pool.calls)
                out: Structured[Any] = await complete_structured(metered, messages, self._request("judge", seq), schema)
            except BudgetExhausted:
                return Structured(None, (), "the token budget is spent: the judge was not asked", tuple(messages))
            except ModelError as exc:
                if self.budget.out_of_time():
                    raise BudgetExhausted("budget:max_seconds") from None
                return Structured(None, (), f"the judge model failed: {exc}", tuple(messages))
            side.extend(out.completions)
            return out

        results = await run_checks(candidate, self.task, self._sandbox, ask=ask, cascade=cascade)
        return results + [validate(fn, candidate) for fn in self._validators]

    def _replayed(self, seq: int, role: str) -> Turn:
        stored = self._replay.take(seq, role, self._pool, self._judge_uri)
        self.graph.add(stored)
        self.emit(Replayed(self.run_id, turn=stored.id, role=role))
        return stored


async def execute(task: Task, *, store: Store, models: dict[str, str], seed: int | None = None,
                  run_id: str | None = None, on_event: EventSink | None = None,
                  pool: ModelPool | None = None, validators: tuple[Callable[[str], Any], ...] = (),
                  stop_signals: tuple[int, ...] = ()) -> RunResult:
    """Run (or, given the id of a stored unfinished run, resume) ``task`` and record the result.

    A new run holds its lock for its whole life; to resume, the caller holds it (``api.aresume``).
    The first of ``stop_signals`` (the CLI passes SIGINT and SIGTERM) cancels the run: in-flight
    model calls and checks are cancelled and the run is recorded as ``interrupted``, resumable.
    """
    options: dict[str, Any] = {"models": models, "seed": seed, "on_event": on_event, "pool": pool, "validators": validators,
               "stop_signals": stop_signals}
    if run_id is not None:
        return await _execute(task, store, run_id, resumed=True, **options)
    run_id = uuid.uuid4().hex[:12]
    with RunLock(store.path, run_id):
        store.create_run(run_id, task.to_data(), str(task.source_dir) if task.source_dir else None, models, seed)
        return await _execute(task, store, run_id, resumed=False, **options)


@traced_run
async def _execute(task: Task, store: Store, run_id: str, *, resumed: bool, models: dict[str, str],
                   seed: int | None, on_event: EventSink | None, pool: ModelPool | None,
                   validators: tuple[Callable[[str], Any], ...], stop_signals: tuple[int, ...]) -> RunResult:
    replay, base_seconds, attempt = [], 0.0, 1
    if resumed:
        replay, base_seconds, attempt = store.turns(run_id), store.get_run(run_id).seconds, store.start_attempt(run_id)
    sandbox = Sandbox(isolation=task.sandbox.isolation)
    run = Run(run_id=run_id, task=task, models=models, seed=seed, store=store, pool=pool or ModelPool(),
              sandbox=sandbox, replay=replay, base_seconds=base_seconds, on_event=on_event, validators=validators,
              attempt=attempt)
    run.emit(Start(run_id, task=task.name, resumed=resumed))
    if sandbox.fallback:
        run.emit(RunWarning(run_id, message=f"bubblewrap isolation unavailable ({sandbox.fallback}); using process isolation"))
    with SignalStop(stop_signals) as stopper:  # held until the outcome is stored: a second signal waits
        try:
            stop_reason, error, hidden = await stopper.run(_drive_and_score(run, sandbox))
        except Interrupted:
            stop_reason, error, hidden = "interrupted", None, None
        except asyncio.CancelledError:  # cancelled by our caller: record it, then let it propagate
            _record(run, store, "interrupted", None, None)
            raise
        finally:
            sandbox.close()
        return _record(run, store, stop_reason, error, hidden)


async def _drive_and_score(run: Run, sandbox: Sandbox) -> tuple[str, str | None, dict[str, Any] | None]:
    """(stop reason, error, hidden-test verdict) of driving the strategy to its end."""
    try:
        return await _drive(run), None, await _hidden_tests(run, sandbox)
    except RunError as exc:
        return "error", str(exc), None


def _record(run: Run, store: Store, stop_reason: str, error: str | None, hidden: dict[str, Any] | None) -> RunResult:
    """Store how the run ended and emit its end event."""
    best = run.chosen or run.graph.best()
    if stop_reason == "interrupted":  # the stop reasons "interrupted" and "error" name the status they lead to
        status = RunStatus.INTERRUPTED
    elif error is not None:
        status = RunStatus.ERROR
    else:
        solved = best is not None and best.passed and (hidden is None or hidden["passed"])
        status = RunStatus.SOLVED if solved else RunStatus.UNSOLVED
    result = RunResult.build(run_id=run.run_id, task=run.task.name, status=status, best=best, graph=run.graph,
                             seconds=run.seconds(), hidden=hidden, stop_reason=stop_reason, error=error)
    store.finish_run(run.run_id, status=status, stop_reason=stop_reason, error=error, seconds=result.seconds,
                     result=result.to_json())
    run.emit(End(run.run_id, status=str(status), stop_reason=stop_reason, error=error))  # sinks get plain data
    return result


async def _drive(run: Run) -> str:
    strategy = get_strategy(run.task.strategy.name, run.task.source_dir)
    params = strategy.Params.model_validate(run.task.strategy.params)
    deadline = asyncio.timeout(run.budget.seconds_left())  # the seconds budget also bounds feedback runs and anything in flight
    try:
        async with deadline:
            return await strategy.run(run, params)
    except BudgetExhausted as exc:
        return exc.reason
    except TimeoutError:
        if deadline.expired():
            return "budget:max_seconds"
        raise RunError("an internal wait timed out") from None
    except BaseExceptionGroup as group:  # concurrent branches: the budget, or the first real failure
        spent, rest = group.split(BudgetExhausted)
        if rest is not None:
            raise _first_leaf(rest) from None
        leaf = _first_leaf(spent or group)
        assert isinstance(leaf, BudgetExhausted)  # split() left only BudgetExhausted leaves
        return leaf.reason


def _first_leaf(group: BaseException) -> BaseException:
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group


async def _hidden_tests(run: Run, sandbox: Sandbox) -> dict[str, Any] | None:
    """Score the best candidate once on the hidden tests; the result is never shown to an agent."""
    if not run.task.hidden_tests:
        return None
    best = run.chosen or run.graph.best()
    return await hidden_verdict(best.candidate if best else None, run.task, sandbox)
