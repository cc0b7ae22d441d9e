"""``--set KEY=VALUE`` overrides: dotted keys into the task data, YAML-typed values."""

from __future__ import annotations

import copy
from typing import Any

from ..core.yamlfile import load_yaml_text
from ..errors import OverrideError, TaskFileError


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``KEY=VALUE`` applied.

    ``KEY`` is dotted (``strategy.max_turns``, ``models.critic``, ``feedback.0.weight``); ``VALUE``
    is read as a YAML scalar or flow collection, so ``2`` is an int and ``[a, b]`` a list.
    """
    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise OverrideError(f"--set {item}: expected KEY=VALUE")
        try:
            value = load_yaml_text(raw, "--set").data if raw.strip() else ""
        except TaskFileError as exc:
            raise OverrideError(f"--set {key}: value is not valid YAML ({exc})") from None
        _assign(out, key.strip().split("."), value, item)
    return out


def _assign(node: Any, parts: list[str], value: Any, item: str) -> None:
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise OverrideError(f"--set {item}: '{part}' is not an index of that list")
            if last:
                node[int(part)] = value
                return
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise OverrideError(f"--set {item}: '{'.'.join(parts[:depth])}' is not a mapping")
        if last:
            node[part] = value
            return
        child = node.get(part)
        if part == "strategy" and isinstance(child, str):
            # `strategy: refine` plus `--set strategy.max_turns=2` means the mapping form
            child = node[part] = {"name": child}
        elif child is None:
            child = node[part] = {}
        node = child
