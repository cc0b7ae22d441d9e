"""``evolve``: verifier-driven evolutionary search over the graph of turns.

As in AlphaEvolve (Novikov et al. 2025, arXiv 2506.13131), OpenEvolve and ShinkaEvolve (Lange et
al. 2025): ``initial`` solver samples seed a program database (``evolve_db``: islands of MAP-Elites
grids keyed by documented features). Each child is bred from a parent and ``inspirations``
sampled from one island (islands take turns), shown in the prompt (``prompts/evolve.j2``); the
child turn's graph edges are its parent first, then its inspirations. The model may answer with
search/replace blocks applied to the parent (an edit that does not apply is the child's failing
``edit`` feedback) or with a whole program. A child identical or nearly identical to a program
the database has seen is rejected before its checks run (``novelty``). A child's prompt lists the
edits that failed before on its parent and island (``failed_edits``, bounded). Checks run as a
cascade: stage by stage, a later (expensive) stage only when the one before passes or, with
``cascade_thresholds``, reaches a score (``feedback.Cascade``). Every
``migration_interval`` children each island's best elite migrates to the next island. When the
refiner role has several models (``models: {refiner: A, refiner.big: B}``), each child's model is
chosen by a UCB1 bandit on score improvement over the parent per 1,000 tokens.

The strategy decides only from finished turns and a seeded generator, so a resumed run rebuilds
the same database from the stored turns and breeds the same children. It stops when a child
passes every check (a ``score`` check: its target reached), after ``children`` children, or
when the run's budget is spent; the best candidate is the result.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..checks import Cascade
from ..core.parsing import extract_code
from ..engine.budget import BudgetExhausted
from . import TaskMismatch
from .evolve_db import Novelty, ProgramDatabase, apply_edits, cell_of

if TYPE_CHECKING:
    from ..checks import Feedback
    from ..engine.context import Adopter, RunContext
    from ..store.graph import Turn
    from ..task import Task

_FEATURE = re.compile(r"checks|length|metric:[A-Za-z0-9_.-]{1,64}")
REJECTIONS = ("edit", "novelty", "parse", "scan")  # feedback kinds that keep a child out of the database


class Params(BaseModel):
    """Parameters of ``evolve`` (docs/strategies.md has the table)."""

    model_config = ConfigDict(extra="forbid")

    initial: int = Field(default=4, ge=1, le=64)  # solver samples seeding the database
    children: int = Field(default=12, ge=0, le=100_000)  # children bred after the seeds, at most
    batch: int = Field(default=1, ge=1, le=16)  # children bred concurrently
    islands: int = Field(default=2, ge=1, le=16)
    migration_interval: int = Field(default=4, ge=1)  # children between migrations
    features: list[str] = Field(default_factory=lambda: ["checks", "length"], min_length=1, max_length=4)
    bins: int = Field(default=4, ge=1, le=64)  # bins per numeric feature
    length_step: int = Field(default=400, ge=1)  # characters per length bin
    metric_range: tuple[float, float] = (0.0, 1.0)  # what the metric features' bins span
    exploitation: float = Field(default=0.7, ge=0.0, le=1.0)  # chance the parent is the island's best
    inspirations: int = Field(default=2, ge=0, le=8)
    cascade: list[list[int]] | None = None  # stages of feedback indices; default: one stage per check
    # per stage, the score its checks must reach for the next stage to run; null (or missing): all must pass
    cascade_thresholds: list[Annotated[float, Field(ge=0.0, le=1.0)] | None] = Field(default_factory=list, max_length=16)
    failed_edits: int = Field(default=3, ge=0, le=16)  # earlier failed edits shown to a child, at most
    novelty: float | None = Field(default=0.95, ge=0.0, le=1.0)  # token similarity rejected; null: off
    exploration: float = Field(default=1.0, ge=0.0, le=10.0)  # the bandit's UCB1 constant
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    seed: int = 0

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _FEATURE.fullmatch(name):
                raise ValueError(f"unknown feature '{name}' (expected checks, length or metric:NAME)")
        return value

    @field_validator("metric_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not (math.isfinite(value[0]) and math.isfinite(value[1]) and value[0] < value[1]):
            raise ValueError("metric_range must be two finite numbers, the lower first")
        return value


def cascade_for(params: Params, task: Task) -> Cascade:
    """The cascade: stages as given (entries not named run in a last stage), else one per check; its thresholds."""
    count = len(task.feedback)
    if params.cascade is None:
        stages: list[tuple[int, ...]] = [(i,) for i in range(count)]
    else:
        named = [i for stage in params.cascade for i in stage]
        rest = tuple(i for i in range(count) if i not in named)
        stages = [tuple(stage) for stage in params.cascade if stage] + ([rest] if rest else [])
    return Cascade(stages=tuple(stages), thresholds=tuple(params.cascade_thresholds))


def check_task(params: Params, task: Task) -> None:
    """The cascade must name each of the task's feedback entries at most once."""
    named = [i for stage in params.cascade or [] for i in stage]
    for i in named:
        if not 0 <= i < len(task.feedback):
            raise TaskMismatch("cascade", f"{i} is not a feedback entry (the task has {len(task.feedback)})")
    if len(set(named)) != len(named):
        raise TaskMismatch("cascade", "a feedback entry is named in more than one stage")
    stages = len(cascade_for(params, task).stages)
    if len(params.cascade_thresholds) >= max(1, stages):
        raise TaskMismatch("cascade_thresholds", f"{len(params.cascade_thresholds)} thresholds for {stages} stages "
                                                 "(one per stage boundary, at most)")


def population_db(params: Params) -> ProgramDatabase:
    """An empty program database shaped by ``params`` (islands, features and their bins)."""
    return ProgramDatabase(params.islands, lambda t: cell_of(t, params.features, params.bins, params.length_step,
                                                             params.metric_range))


def admissible(turn: Turn) -> bool:
    """Whether a finished child joins the database: it has a candidate that was checked (not rejected unchecked)."""
    return turn.candidate is not None and not any(f.kind in REJECTIONS for f in turn.feedback)


def migrates(before: int, after: int, interval: int) -> bool:
    """Whether breeding children ``before`` … ``after - 1`` crossed a migration boundary."""
    return after // interval > before // interval


class Bandit:
    """UCB1 over model URIs; the reward is score improvement over the parent per 1,000 tokens."""

    def __init__(self, arms: list[str], exploration: float) -> None:
        self.arms, self.exploration = arms, exploration
        self.pulls = dict.fromkeys(arms, 0)
        self.total = dict.fromkeys(arms, 0.0)

    def choose(self) -> str:
        """The arm to pull next (each once first, in order); counted as pulled now."""
        untried = [a for a in self.arms if self.pulls[a] == 0]
        n = sum(self.pulls.values())
        arm = untried[0] if untried else max(self.arms, key=lambda a: self.total[a] / self.pulls[a]
                                                  + self.exploration * math.sqrt(2 * math.log(n) / self.pulls[a]))
        self.pulls[arm] += 1
        return arm

    def reward(self, arm: str, parent: Turn | None, child: Turn) -> None:
        """Credit ``arm`` with the child's improvement over its parent, per 1,000 tokens it spent."""
        gain = max(0.0, (child.score or 0.0) - (parent.score or 0.0 if parent else 0.0))
        self.total[arm] += 1000.0 * gain / max(1, child.usage.total)


def model_arms(run: RunContext, role: str) -> list[str]:
    """The models a role may use: its own (its entry, else the default), then its ``ROLE.NAME`` variants."""
    variants = sorted(k for k in run.models if k.startswith(f"{role}."))
    return list(dict.fromkeys([run.models.get(role, run.models["default"]), *(run.models[k] for k in variants)]))


@dataclass(frozen=True)
class Plan:
    """What one child is bred from: its island, parent, inspirations and model."""

    island: int
    parent: Turn | None
    inspirations: tuple[Turn, ...]
    model: str


class Evolution:
    """The search's state: the database, the novelty filter, the bandit and the generator."""

    def __init__(self, run: RunContext, params: Params) -> None:
        self.run, self.params = run, params
        self.rng = random.Random(f"evolve:{params.seed}:{run.seed}")
        self.db = population_db(params)
        self.novelty = Novelty(params.novelty, run.task.language)
        self.cascade = cascade_for(params, run.task)
        self.bandit = Bandit(model_arms(run, "refiner"), params.exploration)
        self.migrations: list[tuple[int, int, str]] = []
        self.failed: list[tuple[int, str, dict]] = []  # (island, parent id, the edit's details), in breeding order

    def adopter(self, parent: Turn | None) -> Adopter:
        """Read a reply: edits applied to ``parent`` or a whole program, then the novelty filter."""
        task = self.run.task

        def adopt(reply: str) -> tuple[str | None, Feedback | None]:
            code, failed = apply_edits(parent.candidate, reply) if parent and parent.candidate else (None, None)
            if failed is not None:
                return None, failed
            code = code if code is not None else extract_code(reply, task.language, task.entry_point)
            return (code, self.novelty.rejection(code)) if code is not None else (None, None)
        return adopt

    async def _turn(self, role: str, parents: list[Turn], **options: Any) -> Turn | None:
        try:
            return await self.run.turn(role, parents=parents, temperature=self.params.temperature,
                                       cascade=self.cascade, **options)
        except BudgetExhausted as exc:  # one refused branch must not cancel its siblings
            self.run.refused = exc.reason
            return None

    async def seed(self) -> list[Turn | None]:
        """The initial population: ``initial`` solver samples, concurrently."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._turn("solver", [], adopt=self.adopter(None)))
                     for _ in range(self.params.initial)]
        seeds = [t.result() for t in tasks]
        for i, turn in enumerate(seeds):
            self.admit(turn, i % self.params.islands)
        return seeds

    def plan(self, index: int) -> Plan:
        """The parent, inspirations and model of child number ``index``."""
        island = index % self.params.islands
        if not self.db.members():  # nothing to breed from yet: a fresh sample
            return Plan(island, None, (), self.run.models.get("solver", self.run.models["default"]))
        parent, others = self.db.sample(island, self.rng, self.params.exploitation, self.params.inspirations)
        return Plan(island, parent, tuple(others), self.bandit.choose())

    async def breed(self, plan: Plan) -> Turn | None:
        """One child turn of ``plan``."""
        if plan.parent is None:
            return await self._turn("solver", [], adopt=self.adopter(None))
        return await self._turn("refiner", [plan.parent, *plan.inspirations], template="evolve", model=plan.model,
                                adopt=self.adopter(plan.parent), context={"failed_edits": self.failed_edits(plan)})

    def failed_edits(self, plan: Plan) -> list[dict]:
        """Earlier edits that did not apply, for ``plan``'s prompt: those on its parent first, then the rest of
        its island's, newest first, at most ``failed_edits`` (so the model does not repeat them)."""
        parent_id = plan.parent.id if plan.parent is not None else None
        mine = [(parent != parent_id, -n, d) for n, (island, parent, d) in enumerate(self.failed)
                if parent == parent_id or island == plan.island]
        return [{**d, "same_parent": not other} for other, _, d in sorted(mine)[: self.params.failed_edits]]

    def record_failure(self, plan: Plan, child: Turn | None) -> None:
        """Remember a child whose edit did not apply (its parent and island see it later)."""
        edit = next((f for f in child.feedback if f.kind == "edit"), None) if child and plan.parent else None
        if edit is not None and child is not None and plan.parent is not None:
            self.failed.append((plan.island, plan.parent.id,
                                {"turn": child.id, "parent": plan.parent.id, "summary": edit.summary}))

    def admit(self, turn: Turn | None, island: int) -> None:
        """Add a checked child to the database and the novelty filter (rejected ones stay out)."""
        if turn is None or not admissible(turn):
            return
        self.novelty.add(turn)
        self.db.add(turn, island)

    async def generations(self) -> str:
        """Breed children in batches until one passes, ``children`` are bred, or the budget is spent."""
        bred = 0
        while bred < self.params.children:
            plans = [self.plan(bred + j) for j in range(min(self.params.batch, self.params.children - bred))]
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.breed(p)) for p in plans]
            children = [t.result() for t in tasks]
            for plan, child in zip(plans, children):  # in plan order: the same on every replay
                if child is not None and plan.parent is not None:
                    self.bandit.reward(plan.model, plan.parent, child)
                self.record_failure(plan, child)
                self.admit(child, plan.island)
            before, bred = bred, bred + len(plans)
            if migrates(before, bred, self.params.migration_interval):
                self.migrations += self.db.migrate()
            if any(c is not None and c.passed for c in children):
                return "solved"
            if all(c is None for c in children):
                return self.run.refused or "exhausted"
        return "max_children"


async def run(run: RunContext, params: Params) -> str:
    """Seed the database, then evolve it; returns the stop reason."""
    evolution = Evolution(run, params)
    seeds = await evolution.seed()
    if any(s is not None and s.passed for s in seeds):
        return "solved"
    if all(s is None for s in seeds):
        return run.refused or "exhausted"
    return await evolution.generations()
