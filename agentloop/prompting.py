"""Rendering role prompts from jinja2 templates (``prompts/<role>.j2``).

Templates are searched in the task folder's ``prompts/``, then ``./prompts``, then the packaged
ones, so a task can override any role's prompt by dropping in a file. Each template defines a
``system`` block and a ``user`` block; undefined variables are errors, not empty strings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2

from .resources import search_path


class PromptRenderer:
    """Renders ``<role>.j2`` into chat messages."""

    def __init__(self, task_dir: Path | None) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in search_path("prompts", task_dir)]),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False,
            trim_blocks=True, lstrip_blocks=True)

    def render(self, role: str, variables: dict[str, Any]) -> list[dict[str, str]]:
        """The ``system`` and ``user`` messages of ``role``'s template."""
        template = self._env.get_template(f"{role}.j2")
        messages = []
        for block in ("system", "user"):
            if block in template.blocks:
                text = "".join(template.blocks[block](template.new_context(variables))).strip()
                if text:
                    messages.append({"role": block, "content": text})
        return messages


def prompt_hash(messages: list[dict[str, str]]) -> str:
    """A short stable hash of rendered messages (to tell identical prompts apart in the store)."""
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]
