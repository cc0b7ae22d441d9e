"""Plain data across the solution boundary: exact builtin types only, as tagged JSON.

What the tests compare must be data, not objects: a value whose type is exactly ``None``,
``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict``,
``set`` or ``frozenset``, recursively. Types are tested with ``type(x) is T`` (never
``isinstance``, which a ``__class__`` property can answer), so no method the candidate defined
is ever called on the way: a subclass of ``int`` with an ``__eq__`` that always says True, an
object whose ``__bool__`` or ``__len__`` lies, or a generator is refused with a message naming
what was returned. The decoder builds fresh builtin values from JSON and nothing else.

Wire form: JSON scalars for ``None``, ``bool``, ``int``, ``float`` (NaN and infinities
included) and ``str``; every other value is an object with one tag: ``{"L": [...]}`` list,
``{"T": [...]}`` tuple, ``{"S": [...]}`` set, ``{"F": [...]}`` frozenset, ``{"D": [[k, v], ...]}``
dict, ``{"B": "<base64>"}`` bytes, ``{"C": [real, imag]}`` complex, and (arguments only, sent
by the trusted side) ``{"P": "path"}`` a ``pathlib.Path``.
"""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

MAX_DEPTH = 64
MAX_ITEMS = 2_000_000
_SCALARS = (type(None), bool, int, float, str)
_SEQUENCES: dict[type, str] = {list: "L", tuple: "T", set: "S", frozenset: "F"}
_BUILD = {"L": list, "T": tuple, "S": set, "F": frozenset}


class NotPlain(TypeError):
    """A value that is not plain data; the message says what it was and where."""


def describe(value: Any) -> str:
    """The value's real type, for a message: found without calling anything the value defines."""
    kind = type(value)
    name = getattr(kind, "__qualname__", None)
    name = name if type(name) is str else "?"
    for base in kind.__mro__[1:] if type(kind.__mro__) is tuple else ():
        if base in _SEQUENCES or base in _SCALARS or base in (dict, bytes, complex):
            return f"{name} (a subclass of {base.__name__})"
    return name


def encode(value: Any, *, paths: bool = False, name: str = "the value") -> Any:
    """``value`` as tagged JSON data; ``NotPlain`` for anything that is not exact builtin data.

    ``paths`` also lets ``pathlib`` paths through (arguments the trusted side sends); ``name``
    is what messages call the value.
    """
    budget = [MAX_ITEMS]
    return _enc(value, 0, set(), budget, name, paths)


def _enc(value: Any, depth: int, active: set[int], budget: list[int], where: str, paths: bool) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlain(f"{where} holds more than {MAX_ITEMS} items")
    if depth > MAX_DEPTH:
        raise NotPlain(f"{where} is nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is bytes:
        return {"B": base64.b64encode(value).decode("ascii")}
    if kind is complex:
        return {"C": [value.real, value.imag]}
    if paths and isinstance(value, pathlib.PurePath):  # trusted side only: the tests' own objects
        return {"P": str(value)}
    if kind not in _SEQUENCES and kind is not dict:
        what = describe(value)
        raise NotPlain(f"{where} is {'an' if what[:1].lower() in 'aeiou' else 'a'} {what}, not plain data")
    if id(value) in active:
        raise NotPlain(f"{where} contains itself")
    active.add(id(value))
    try:
        if kind is dict:
            return {"D": [[_enc(k, depth + 1, active, budget, f"a key of {where}", paths),
                           _enc(v, depth + 1, active, budget, f"an item of {where}", paths)]
                          for k, v in dict.items(value)]}
        items = list.__iter__(value) if kind is list else iter(value)  # exact builtins: their own iteration
        return {_SEQUENCES[kind]: [_enc(v, depth + 1, active, budget, f"an item of {where}", paths) for v in items]}
    finally:
        active.discard(id(value))


def decode(data: Any, depth: int = 0) -> Any:
    """Fresh builtin values from tagged JSON data; ``ValueError`` for anything malformed."""
    if depth > MAX_DEPTH + 1:
        raise ValueError("nested too deep")
    kind = type(data)
    if kind in _SCALARS:
        return data
    if kind is not dict or len(data) != 1:
        raise ValueError("malformed value")
    [(tag, body)] = data.items()
    if tag in _BUILD and type(body) is list:
        return _BUILD[tag](decode(v, depth + 1) for v in body)
    if tag == "D" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("malformed dict item")
            out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
        return out
    if tag == "B" and type(body) is str:
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "C" and type(body) is list and len(body) == 2 and all(type(x) in (int, float) for x in body):
        return complex(body[0], body[1])
    if tag == "P" and type(body) is str:
        return pathlib.Path(body)
    raise ValueError(f"unknown tag {tag!r}")


def dumps(message: dict) -> bytes:
    """One message as bytes (NaN and infinities allowed, as Python's json writes them)."""
    return json.dumps(message, allow_nan=True, separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    """One message from bytes."""
    return json.loads(raw)
