"""The sweep file (SPEC §6): a grid of configurations over a suite of tasks, validated strictly.

Unknown keys are errors, strategy parameters are checked against the strategy's own ``Params``
and model URIs are resolved against the sweep file's folder, so a typo exits 2 with one line
naming the file, the field and the line before any run starts. ``expand`` turns each
configuration's optional ``grid`` (dotted keys to lists of values) into plain configurations.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..checks import load_kind
from ..core.yamlfile import YamlDoc, load_yaml_file
from ..errors import ModelURIError, OverrideError, TaskFileError
from ..models import normalize_uri
from ..task import (
    Budget,
    FeedbackSpec,
    Sampling,
    _check_schema,
    _dotted,
    _message,
    known_roles,
)
from ..task.overrides import apply_overrides

GRID_ROOTS = ("strategy", "models", "budget", "sampling")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TotalBudget(_Strict):
    """The whole sweep's limit: no new run starts once it is reached (runs in flight finish)."""

    max_tokens: int | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)


class ConfigSpec(_Strict):
    """One configuration: a strategy with its parameters, plus models/budget/sampling overrides."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.=,+-]+$")
    strategy: dict[str, Any] | str
    models: dict[str, str] = Field(default_factory=dict)
    budget: dict[str, Any] = Field(default_factory=dict)
    sampling: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # feedback entries appended to every task's own (e.g. `[{kind: trace}]`), checked like a task file's
    add_feedback: list[FeedbackSpec] = Field(default_factory=list, max_length=16)
    grid: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _strategy_named(cls, value: Any) -> dict[str, Any]:
        value = {"name": value} if isinstance(value, str) else dict(value)
        if not isinstance(value.get("name"), str):
            raise ValueError("a strategy needs a name")  # ValueError, not TypeError: pydantic reports it as a field error
        return value

    @field_validator("grid")
    @classmethod
    def _grid_keys(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if key.split(".")[0] not in GRID_ROOTS or "." not in key:
                raise ValueError(f"grid key '{key}' must be dotted under one of {', '.join(GRID_ROOTS)}")
            if not values:
                raise ValueError(f"grid key '{key}' has no values")
        return value


class SweepFile(_Strict):
    """A sweep file, validated (see SPEC §6 and docs/sweeps.md)."""

    suite: str = Field(min_length=1)
    limit: int | None = Field(default=None, gt=0)
    tasks: list[str] | None = None  # only these task names, in the suite's order
    models: dict[str, str] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    budget: Budget = Field(default_factory=Budget)
    sampling: dict[str, Sampling] = Field(default_factory=dict)
    total_budget: TotalBudget = Field(default_factory=TotalBudget)
    concurrency: int = Field(default=1, ge=1, le=256)
    score_candidates: bool = True  # run the hidden tests on every candidate too (coverage, by-turn curves)
    configs: list[ConfigSpec] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _known_model_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_roles(value, variants=True)  # ROLE.NAME: another model of a role, as in task files

    @field_validator("sampling")
    @classmethod
    def _known_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_roles(value)

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("seeds repeat")
        return value


@dataclass(frozen=True)
class Config:
    """A configuration after grid expansion: what every run of it is given on top of the task."""

    name: str
    strategy: dict[str, Any]
    models: dict[str, str]  # normalized URIs; may hold {task} and {seed} placeholders
    budget: dict[str, Any]
    sampling: dict[str, dict[str, Any]]
    add_feedback: tuple[dict[str, Any], ...] = ()  # feedback entries appended to each task's

    @property
    def label(self) -> str:
        """The strategy and its parameters, e.g. ``best_of_n(n=8)``."""
        params = ", ".join(f"{k}={v}" for k, v in self.strategy.items() if k != "name")
        return f"{self.strategy['name']}({params})"


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the validated file, its expanded configurations and where it came from."""

    spec: SweepFile
    configs: tuple[Config, ...]
    path: str
    base_dir: Path


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand a sweep file; errors are ``TaskFileError`` naming file, field and line."""
    path = Path(path)
    doc = load_yaml_file(path)
    if not isinstance(doc.data, dict):
        raise TaskFileError(doc.path, "", "a sweep file must be a mapping of keys")
    try:
        spec = SweepFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        raise TaskFileError(doc.path, _dotted(loc), _message(err), doc.line_of(loc)) from None
    base = path.resolve().parent
    for role, uri in spec.models.items():  # checked even where every configuration overrides it
        _normalize(uri, base, doc, ("models", role))
    configs = expand(spec, doc, base)
    return Sweep(spec=spec, configs=configs, path=doc.path, base_dir=base)


def expand(spec: SweepFile, doc: YamlDoc, base: Path) -> tuple[Config, ...]:
    """Every configuration with its grid multiplied out, validated; names must be unique."""
    out: list[Config] = []
    for i, raw in enumerate(spec.configs):
        for point in _grid(raw, i, doc):
            out.append(_resolve(point, spec, i, doc, base))
    seen: set[str] = set()
    for config in out:
        if config.name in seen:
            raise TaskFileError(doc.path, "configs", f"configuration name '{config.name}' repeats")
        seen.add(config.name)
    return tuple(out)


def _grid(raw: ConfigSpec, index: int, doc: YamlDoc) -> list[ConfigSpec]:
    """The cartesian product of ``raw.grid``, each point applied as dotted overrides."""
    if not raw.grid:
        return [raw]
    keys = list(raw.grid)
    points = []
    base = raw.model_dump(exclude={"grid"})
    for values in itertools.product(*(raw.grid[k] for k in keys)):
        data = copy.deepcopy(base)
        try:
            data = apply_overrides(data, [f"{k}={_yaml_scalar(v)}" for k, v in zip(keys, values, strict=True)])
        except OverrideError as exc:
            raise TaskFileError(doc.path, f"configs[{index}].grid", str(exc),
                                doc.line_of(("configs", index, "grid"))) from exc
        suffix = ",".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values, strict=True))
        data["name"] = f"{raw.name}[{suffix}]"
        points.append(ConfigSpec.model_construct(**data))
    return points


def _yaml_scalar(value: Any) -> str:
    import json
    return json.dumps(value)  # JSON is YAML: the value comes back with its type


def _resolve(raw: ConfigSpec, spec: SweepFile, index: int, doc: YamlDoc, base: Path) -> Config:
    """Merge the configuration over the sweep's defaults and check it as a task would be."""
    from ..strategies import get_strategy

    where = ("configs", index)
    strategy = raw.strategy if isinstance(raw.strategy, dict) else {"name": raw.strategy}
    try:
        module = get_strategy(strategy["name"])
    except LookupError as exc:
        raise TaskFileError(doc.path, f"configs[{index}].strategy.name", str(exc),
                            doc.line_of(where + ("strategy",))) from exc
    _check_schema(module.Params, {k: v for k, v in strategy.items() if k != "name"}, doc, where + ("strategy",))
    budget = {**spec.budget.model_dump(exclude_none=True), **raw.budget}
    _check_schema(Budget, budget, doc, where + ("budget",))
    sampling = {role: s.model_dump(exclude_none=True) for role, s in spec.sampling.items()}
    for role, values in raw.sampling.items():
        sampling[role] = {**sampling.get(role, {}), **values}
        _check_schema(Sampling, sampling[role], doc, where + ("sampling", role))
    models = {**spec.models, **raw.models}
    for role, uri in models.items():
        field = where + ("models", role) if role in raw.models else ("models", role)
        try:
            known_roles({role: uri}, variants=True)
        except ValueError as exc:
            raise TaskFileError(doc.path, _dotted(field), str(exc), doc.line_of(field)) from None
        models[role] = _normalize(uri, base, doc, field)
    return Config(name=raw.name, strategy=strategy, models=models, budget=budget, sampling=sampling,
                  add_feedback=_added_feedback(raw, doc, where))


def _added_feedback(raw: ConfigSpec, doc: YamlDoc, where: tuple) -> tuple[dict[str, Any], ...]:
    """The configuration's ``add_feedback`` entries, each kind found and its options checked as a task's are."""
    out = []
    for i, entry in enumerate(raw.add_feedback):
        # model_construct (grid points) leaves entries as dicts
        spec = entry if isinstance(entry, FeedbackSpec) else FeedbackSpec.model_validate(entry)
        field = where + ("add_feedback", i)
        try:
            kind = load_kind(spec.kind, None)  # the packaged kinds and ./tools: a suite has no folder of its own
        except LookupError as exc:
            raise TaskFileError(doc.path, _dotted(field + ("kind",)), str(exc), doc.line_of(field)) from None
        _check_schema(kind.Config, spec.options, doc, field)
        out.append(spec.model_dump())
    return tuple(out)


def _normalize(uri: str, base: Path, doc: YamlDoc, field: tuple) -> str:
    """A model URI made absolute; ``{task}``/``{seed}`` placeholders are checked with a sample value."""
    if "{" not in uri:
        try:
            return normalize_uri(uri, base)
        except ModelURIError as exc:
            raise TaskFileError(doc.path, _dotted(field), str(exc), doc.line_of(field)) from None
    scheme, _, rest = uri.partition(":")
    if scheme not in ("scripted", "llamacpp") or rest.startswith("{"):
        raise TaskFileError(doc.path, _dotted(field), "placeholders are allowed in file paths only", doc.line_of(field))
    path = Path(rest)
    return f"{scheme}:{path if path.is_absolute() else base / path}"


def fill_models(models: dict[str, str], *, task: str, seed: int) -> dict[str, str]:
    """The configuration's models for one run, with ``{task}`` and ``{seed}`` filled in and checked."""
    out = {}
    for role, uri in models.items():
        if "{" in uri:
            try:
                uri = normalize_uri(uri.replace("{task}", task).replace("{seed}", str(seed)), None)
            except ModelURIError as exc:
                raise TaskFileError(f"models.{role}", "", str(exc)) from None
        out[role] = uri
    return out
