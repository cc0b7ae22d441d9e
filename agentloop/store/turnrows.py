"""How a turn's messages are stored: only what the turn adds to the conversation it continues.

A turn's messages are mostly the conversation of the turn it derives from (that turn's messages
and its reply), so storing them whole would make every row carry the whole conversation again,
about 7 KB after nine refine rounds, re-encoded and re-inserted on every turn (P1). A stored row
names its *base* (the seq of an earlier turn of the same run) and lists the ``kept`` slices of
the base's history, ``[start, end)`` pairs, followed by the messages the turn adds. Reading
rebuilds the history of every turn in seq order, so each row is expanded from rows already read.
Rows without a base (every row a store wrote before schema version 3) hold their whole messages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .graph import Turn

Message = dict[str, str]
Kept = list[list[int]]

REMEMBERED_RUNS = 32  # runs whose histories a store keeps in memory to diff the next turns against


def history(messages: Sequence[Message], output: str) -> list[Message]:
    """What a turn's successor sees of it: its messages, then its reply."""
    return [*messages, {"role": "assistant", "content": output}]


def diff(base: Sequence[Message], messages: Sequence[Message]) -> tuple[Kept, list[Message]]:
    """The slices of ``base`` that ``messages`` starts with, in order, and the messages after them.

    Slices may skip part of ``base`` (a conversation past its size limit drops its oldest
    exchanges), never go back; the first message found nowhere further on starts the tail.
    ``expand(base, *diff(base, messages)) == list(messages)`` whatever the two hold.
    """
    kept: Kept = []
    at, size = 0, len(base)
    for index, message in enumerate(messages):
        if at < size and (base[at] is message or base[at] == message):  # identity first: the usual, shared dict
            found = at
        else:
            found = next((k for k in range(at + 1, size) if base[k] == message), -1)
            if found < 0:
                return kept, list(messages[index:])
        if kept and kept[-1][1] == found:
            kept[-1][1] = found + 1
        else:
            kept.append([found, found + 1])
        at = found + 1
    return kept, []


def expand(base: Sequence[Message], kept: Kept, tail: Sequence[Message]) -> list[Message]:
    """The messages ``diff`` described: the kept slices of ``base``, then ``tail``."""
    out: list[Message] = []
    for start, end in kept:
        if not 0 <= start < end <= len(base):
            raise ValueError(f"slice [{start}, {end}) outside a base history of {len(base)} messages")
        out.extend(base[start:end])
    out.extend(tail)
    return out


class Histories:
    """The histories of the turns of recently written or read runs, by run and turn id.

    A store diffs a new turn against its latest parent's history when that is here; when it is
    not (a run another store object wrote and this one never read), the turn is stored whole,
    which is always correct, only larger.
    """

    def __init__(self, runs: int = REMEMBERED_RUNS) -> None:
        self._runs: OrderedDict[str, dict[str, tuple[int, list[Message]]]] = OrderedDict()
        self._limit = runs

    def remember(self, run_id: str, turn: Turn) -> None:
        """Keep ``turn``'s history for the turns that will continue it."""
        turns = self._runs.get(run_id)
        if turns is None:
            turns = self._runs[run_id] = {}
            while len(self._runs) > self._limit:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        turns[turn.id] = (turn.seq, history(turn.messages, turn.output))

    def forget(self, run_id: str) -> None:
        """Drop a run's histories (it finished)."""
        self._runs.pop(run_id, None)

    def encode(self, run_id: str, turn: Turn) -> tuple[int | None, dict[str, Any]]:
        """The base seq (None: stored whole) and the plain data to store for ``turn``."""
        turns = self._runs.get(run_id, {})
        # any earlier stored turn would do as the base (``diff`` is exact whatever it is given); the
        # latest parent is the one whose conversation `roles.conversation` continues
        parents = [turns[p] for p in turn.parents if p in turns]
        if turn.messages and parents:
            seq, base = max(parents, key=lambda parent: parent[0])
            if seq < turn.seq:
                kept, tail = diff(base, turn.messages)
                if kept:
                    data = turn.to_dict(messages=tail)
                    data["kept"] = kept
                    return seq, data
        return None, turn.to_dict()


def decode(rows: Sequence[tuple[int, str | bytes, int | None]], loads: Any) -> list[Turn]:
    """Turns from ``(seq, turn_json, base_seq)`` rows of one run in seq order, each expanded from its base."""
    seen: dict[int, list[Message]] = {}
    out = []
    for seq, body, base_seq in rows:
        data = loads(body)
        if base_seq is not None:
            base = seen.get(base_seq)
            if base is None:
                raise ValueError(f"stored turn {seq} continues turn {base_seq}, which is not stored before it")
            data["messages"] = expand(base, data.pop("kept"), data["messages"])
        turn = Turn.from_dict(data)
        seen[seq] = history(turn.messages, turn.output)
        out.append(turn)
    return out
