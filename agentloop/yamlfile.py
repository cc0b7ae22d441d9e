"""Safe YAML reading for user files (task, scripted model, sweep).

Only plain data: no tags beyond the YAML core schema, no anchors or aliases (a few hundred bytes
of aliases can expand to gigabytes), bounded size and nesting. Each loaded document keeps its node
tree so an error about a field can name the line the field is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import TaskFileError

MAX_BYTES = 1 << 20  # task files are prompts and test code, never data sets
MAX_DEPTH = 64


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self._path = path
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise TaskFileError(self._path, "", "YAML anchors and aliases are not allowed", line)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise TaskFileError(self._path, "", f"nesting deeper than {MAX_DEPTH}", event.start_mark.line + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass(frozen=True)
class YamlDoc:
    """A loaded YAML document: its plain data plus the node tree for line lookups."""

    path: str
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        """The 1-based line of the field at ``loc`` (keys and list indexes), or of its nearest parent."""
        node, line = self.root, None
        for part in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = _child(node, part)
        if node is not None:
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def load_yaml_text(text: str, path: str) -> YamlDoc:
    """Parse YAML text safely; errors are ``TaskFileError`` naming ``path`` and the line."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise TaskFileError(path, "", f"file is larger than {MAX_BYTES} bytes")
    loader = _StrictLoader(text, path)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except TaskFileError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise TaskFileError(path, "", f"invalid YAML: {exc.problem or exc}", line) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise TaskFileError(path, "", f"invalid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    return YamlDoc(path=path, data=data, root=root)


def load_yaml_file(path: Path) -> YamlDoc:
    """Read and parse a YAML file; an unreadable file is a ``TaskFileError``."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise TaskFileError(str(path), "", f"file is larger than {MAX_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TaskFileError(str(path), "", "file is not UTF-8 text") from None
    return load_yaml_text(text, str(path))
