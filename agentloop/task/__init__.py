"""The task: what the solver must produce and how candidates are checked.

A ``Task`` is loaded from YAML (``Task.from_yaml``) or a dict (``Task.from_dict``). Unknown keys
are errors; each feedback entry is validated by its feedback kind's own ``Config`` and each
strategy's parameters by that strategy's ``Params``, so a typo anywhere is reported with the
file, the field and the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..checks import load_kind
from ..core.yamlfile import YamlDoc, load_yaml_file
from ..errors import TaskFileError
from .overrides import apply_overrides

ROLES = ("solver", "critic", "tester", "refiner", "judge")


def known_roles(value: dict[str, Any], variants: bool = False) -> dict[str, Any]:
    """``value`` if every key is ``default`` or a role name (a pydantic validator's body).

    With ``variants``, ``ROLE.NAME`` keys are allowed too: further models for a role, which a
    strategy may choose among (``evolve``'s bandit).
    """
    for key in value:
        role, dot, name = key.partition(".")
        if dot and variants and role in ROLES and re.fullmatch(r"[A-Za-z0-9_-]+", name):
            continue
        if key != "default" and key not in ROLES:
            suffix = " or ROLE.NAME for another model of a role" if variants else ""
            raise ValueError(f"unknown role '{key}' (expected default or one of {', '.join(ROLES)}{suffix})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackSpec(BaseModel):
    """One feedback entry: ``kind``, optional ``weight`` and the kind's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    weight: float = Field(default=1.0, ge=0.0)

    @property
    def options(self) -> dict[str, Any]:
        """The kind-specific options (everything except ``kind`` and ``weight``)."""
        return dict(self.model_extra or {})


class StrategySpec(_Strict):
    """A strategy name plus its parameters (validated by the strategy's ``Params``)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Budget(_Strict):
    """Run-wide limits; the run stops cleanly at the first one reached."""

    max_tokens: int | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)
    max_turns: int | None = Field(default=None, gt=0)


class SandboxSpec(_Strict):
    """Limits for each execution of candidate code."""

    timeout_s: float = Field(default=10.0, gt=0, le=3600)
    memory_mb: int = Field(default=512, ge=32, le=65536)
    # process: Layer A (default); bwrap: Layer B, bubblewrap namespaces, falling back to A loudly
    isolation: Literal["process", "bwrap"] = "process"
    # fail a Python candidate whose code tampers with the harness (os._exit, atexit, frame walking, ...)
    scan: bool = True
    # plain: pytest checks see the candidate only through the solution boundary (its own process,
    # plain data back); objects: a task whose functions return their own types, imported in-process
    results: Literal["plain", "objects"] = "plain"


class Sampling(_Strict):
    """Per-role sampling settings; unset values keep the role's defaults."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0, le=32768)


class Task(_Strict):
    """A task file, validated. See SPEC §1 for the meaning of each key."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    prompt: str = Field(min_length=1)
    language: Literal["python", "c"] = "python"
    output: Literal["code", "text"] = "code"  # text: the whole reply is the candidate (wrapped LLM calls)
    entry_point: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    starter: str | None = None
    # code that runs before every candidate, in the same file (imports, helpers, the function's
    # stub): HumanEval's protocol, where the prompt's code is executed before the completion
    preamble: str | None = None
    feedback: list[FeedbackSpec] = Field(default_factory=lambda: [FeedbackSpec(kind="compile")])
    hidden_tests: str | None = None
    strategy: StrategySpec = Field(default_factory=lambda: StrategySpec(name="refine"))
    models: dict[str, str] = Field(default_factory=lambda: {"default": "llamacpp:default"})
    sampling: dict[str, Sampling] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    sandbox: SandboxSpec = Field(default_factory=SandboxSpec)

    _source_dir: Path | None = PrivateAttr(default=None)
    _source_label: str = PrivateAttr(default="<task>")

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value: Any) -> Any:
        # `strategy: refine` and `strategy: {name: refine, max_turns: 4}` both mean a StrategySpec
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "params" not in value:
            return {"name": value.get("name"), "params": {k: v for k, v in value.items() if k != "name"}}
        return value

    @field_validator("models")
    @classmethod
    def _known_model_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_roles(value, variants=True)

    @field_validator("sampling")
    @classmethod
    def _known_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_roles(value)

    @model_validator(mode="after")
    def _models_have_default(self) -> Task:
        if "default" not in self.models:
            self.models["default"] = "llamacpp:default"
        return self

    @property
    def source_label(self) -> str:
        """The task file's path as given (or a label for tasks built from data), for error messages."""
        return self._source_label

    @property
    def source_dir(self) -> Path | None:
        """The folder of the task file; prompts/ and tools/ there override the packaged ones."""
        return self._source_dir

    def to_data(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` turns back into an equal task."""
        data = self.model_dump(mode="json")
        data["strategy"] = {"name": self.strategy.name, **self.strategy.params}
        return data

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Task:
        """Load a task file, apply ``--set`` style overrides, and validate everything in it."""
        path = Path(path)
        doc = load_yaml_file(path)
        if isinstance(doc.data, dict):
            _check_file_paths(doc, path.resolve().parent)
        return cls._build(doc, path.resolve().parent, overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: str | Path | None = None,
                  overrides: list[str] | tuple[str, ...] = (), label: str = "<task>") -> Task:
        """Validate a task given as plain data (``base_dir`` plays the task file's folder)."""
        base = Path(base_dir).resolve() if base_dir is not None else None
        return cls._build(YamlDoc(path=label, data=data, root=None), base, overrides)

    @classmethod
    def _build(cls, doc: YamlDoc, base: Path | None, overrides: list[str] | tuple[str, ...]) -> Task:
        if not isinstance(doc.data, dict):
            raise TaskFileError(doc.path, "", "a task file must be a mapping of keys")
        data = apply_overrides(doc.data, overrides)
        doc = replace(doc, overrides=tuple(overrides))
        try:
            task = cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            raise doc.error(loc, _dotted(loc), _message(err)) from None
        task._source_dir = base
        task._source_label = doc.path
        _validate_parts(task, doc)
        return task


def _check_file_paths(doc: YamlDoc, folder: Path) -> None:
    """Files a task file names (model URIs) must resolve inside its folder, symlinks followed.

    A task file from elsewhere must not make a run read ``../../secrets`` or ``/etc/…`` through a
    model URI. Only the file's own values are checked: ``--model`` and ``--set`` are the user's.
    """
    models = doc.data.get("models")
    if not isinstance(models, dict):
        return  # a wrong type is reported by validation with its line
    for role, uri in models.items():
        scheme, _, rest = str(uri).partition(":")
        name = rest.split("?")[0]
        if scheme not in ("scripted", "llamacpp") or name in ("", "default"):
            continue
        lexical = Path(os.path.normpath(folder / Path(name).expanduser()))
        if not lexical.resolve().is_relative_to(folder):
            how = "through a symlink " if lexical.is_relative_to(folder) else ""
            raise TaskFileError(doc.path, f"models.{role}", f"'{name}' leads {how}outside the task folder (a task "
                                "file may only name files inside its folder; use --model for others)",
                                doc.line_of(("models", role)))


def _validate_parts(task: Task, doc: YamlDoc) -> None:
    """Check each feedback kind's options and the strategy's parameters against their schemas."""
    from ..strategies import TaskMismatch, get_strategy

    for i, spec in enumerate(task.feedback):
        try:
            kind = load_kind(spec.kind, task.source_dir)
        except LookupError as exc:
            raise doc.error(("feedback", i, "kind"), f"feedback[{i}].kind", str(exc)) from None
        _check_schema(kind.Config, spec.options, doc, ("feedback", i))
    try:
        strategy = get_strategy(task.strategy.name, task.source_dir)
    except LookupError as exc:
        raise doc.error(("strategy", "name"), "strategy.name", str(exc)) from None
    _check_schema(strategy.Params, task.strategy.params, doc, ("strategy",))
    check_task = getattr(strategy, "check_task", None)  # parameters that must agree with the rest of the task
    if check_task is not None:
        try:
            check_task(strategy.Params.model_validate(task.strategy.params), task)
        except TaskMismatch as exc:
            raise doc.error(("strategy", exc.field), f"strategy.{exc.field}", str(exc)) from None


def _check_schema(schema: type[BaseModel], options: dict[str, Any], doc: YamlDoc, prefix: tuple) -> None:
    try:
        schema.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = prefix + tuple(err["loc"])
        raise doc.error(loc, _dotted(loc), _message(err)) from None


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    return str(err["msg"]).removeprefix("Value error, ")
