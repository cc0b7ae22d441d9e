"""Rendering role prompts from jinja2 templates (``prompts/<role>.j2``).

Templates are searched in the task folder's ``prompts/``, then ``./prompts``, then the packaged
ones, so a task can override any role's prompt by dropping in a file. Each template defines a
``system`` block and a ``user`` block; undefined variables are errors, not empty strings.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..core.resources import search_path


class PromptRenderer:
    """Renders ``<role>.j2`` into chat messages."""

    def __init__(self, task_dir: Path | None) -> None:
        self._env = _environment(tuple(str(p) for p in search_path("prompts", task_dir)))

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


@lru_cache(maxsize=32)
def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    # shared by every run with the same search path: compiling the three role templates again for
    # each run would be most of a short run's CPU (P1). jinja2 re-checks each file's mtime on
    # get_template (auto_reload), so an edited template is still picked up by the next render.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False,
        trim_blocks=True, lstrip_blocks=True)


def prompt_hash(messages: list[dict[str, str]]) -> str:
    """A short stable hash of rendered messages (to tell identical prompts apart in the store)."""
    # each field length-prefixed, so no two different conversations hash the same text; three times
    # cheaper than hashing their JSON, which would re-encode the whole conversation on every turn (P1)
    text = "".join(f"{len(m['role'])}:{m['role']}{len(m['content'])}:{m['content']}" for m in messages)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
