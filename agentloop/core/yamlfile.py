"""Safe YAML reading for user files (task, scripted model, sweep).

Only plain data: no tags beyond the YAML core schema (``!!python/…``, ``!!binary``, local tags are
refused while parsing, before anything is constructed), no anchors or aliases (a few hundred bytes
of aliases can expand to gigabytes; the first anchor stops the parse), bounded size (checked on
the open file, which must be a regular file: ``/dev/zero`` or a FIFO would never end) and bounded
nesting (checked event by event, so 100k levels of ``[[[`` stop at level 65). Each loaded document
keeps its node tree so an error about a field can name the line the field is on.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import TaskFileError

MAX_BYTES = 1 << 20  # task files are prompts and test code, never data sets
MAX_DEPTH = 64
# explicit tags a task file may use: the core schema's plain types (``!`` is "just a string")
_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset({None, "!"} | {_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")})


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self._path = path
        self._depth = 0

    def compose_node(self, parent, index):  # PyYAML's signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise TaskFileError(self._path, "", "YAML anchors and aliases are not allowed", line)
        tag = getattr(event, "tag", None)
        if tag not in ALLOWED_TAGS:  # so not None
            shown = "!!" + str(tag).removeprefix(_CORE) if str(tag).startswith(_CORE) else str(tag)
            raise TaskFileError(self._path, "", f"YAML tag '{shown[:80]}' is not allowed (plain data only)",
                                event.start_mark.line + 1)
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
    overrides: tuple[str, ...] = ()  # ``--set KEY=VALUE`` items applied on top of the data

    def error(self, loc: tuple[str | int, ...], field: str, message: str) -> TaskFileError:
        """An error about the field at ``loc``: blamed on the ``--set`` that wrote it, else on the file and line."""
        parts = [str(p) for p in loc]
        for item in reversed(self.overrides):
            key = item.partition("=")[0].strip().split(".")
            if key[:len(parts)] == parts[:len(key)]:
                return TaskFileError(f"--set {item[:200]}", field, message)
        return TaskFileError(self.path, field, message, self.line_of(loc))

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
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise TaskFileError(path, "", f"invalid value: {str(exc).split(';')[0][:120]}") from None
    finally:
        loader.dispose()
    return YamlDoc(path=path, data=data, root=root)


def load_yaml_file(path: Path) -> YamlDoc:
    """Read and parse a YAML file; an unreadable, non-regular or oversized file is a ``TaskFileError``."""
    return load_yaml_text(read_text_file(path), str(path))


def read_text_file(path: Path, limit: int = MAX_BYTES) -> str:
    """A regular file's UTF-8 text, at most ``limit`` bytes, else a ``TaskFileError`` naming it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open file
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise TaskFileError(str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TaskFileError(str(path), "", "not a regular file")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)  # bounded even if the file grows after the check
    except OSError as exc:
        raise TaskFileError(str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise TaskFileError(str(path), "", f"file is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TaskFileError(str(path), "", "file is not UTF-8 text") from None
