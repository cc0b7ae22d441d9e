"""``evolve``'s program database, novelty filter and search/replace edits.

The database holds a run's candidates in islands; each island is a MAP-Elites grid (Mouret and
Clune 2015) whose cells are keyed by features of a candidate, one elite per cell. Everything here
is rebuilt from the run's turns as the strategy replays them, so it is never stored itself.

Features (``cell_of``):
- ``checks``: which of the task's checks passed, as a pattern such as ``"110"`` (in check order);
- ``length``: the candidate's length in characters, in bins of ``length_step``, the last bin open;
- ``metric:NAME``: the evaluator metric ``NAME`` of the ``score`` check, binned over ``metric_range``
  (``-1`` when the candidate has no such metric).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..checks import Feedback

if TYPE_CHECKING:
    from ..store.graph import Turn

Cell = tuple


def fitness(turn: Turn) -> tuple[bool, float]:
    """How good a member is: passing every check first, then the score."""
    return (turn.passed, turn.score or 0.0)


def cell_of(turn: Turn, features: list[str], bins: int, length_step: int,
            metric_range: tuple[float, float]) -> Cell:
    """The grid cell of a candidate: one coordinate per feature (see the module docstring)."""
    counted = [f for f in turn.feedback if not f.advisory]
    out: list[object] = []
    for name in features:
        if name == "checks":
            out.append("".join("1" if f.passed else "0" for f in counted))
        elif name == "length":
            out.append(min(bins - 1, len(turn.candidate or "") // length_step))
        else:
            metric = name.removeprefix("metric:")
            values = [f.details["metrics"][metric] for f in counted
                      if isinstance(f.details.get("metrics"), dict) and metric in f.details["metrics"]]
            low, high = metric_range
            out.append(-1 if not values else min(bins - 1, max(0, math.floor((values[0] - low) / (high - low) * bins))))
    return tuple(out)


@dataclass
class Island:
    """One MAP-Elites grid: the elite candidate of each cell."""

    grid: dict[Cell, Turn] = field(default_factory=dict)

    def place(self, turn: Turn, cell: Cell) -> bool:
        """Put ``turn`` in ``cell`` if it is empty or ``turn`` beats its elite; True if placed.

        On equal fitness the shorter program wins (simpler is better); otherwise the incumbent stays.
        """
        elite = self.grid.get(cell)
        if elite is not None:
            if elite.id == turn.id:
                return False
            better = fitness(turn) > fitness(elite)
            tie_shorter = fitness(turn) == fitness(elite) and len(turn.candidate or "") < len(elite.candidate or "")
            if not (better or tie_shorter):
                return False
        self.grid[cell] = turn
        return True

    def members(self) -> list[Turn]:
        """The elites, best first (ties: the earlier turn first)."""
        return sorted(self.grid.values(), key=lambda t: (fitness(t), -t.seq), reverse=True)


class ProgramDatabase:
    """Islands of MAP-Elites grids over a run's candidates, with ring migration between them."""

    def __init__(self, islands: int, cell: Callable[[Turn], Cell]) -> None:
        self.islands = [Island() for _ in range(islands)]
        self._cell = cell
        self.cells: dict[str, Cell] = {}  # turn id -> its cell (features never change for a turn)

    def add(self, turn: Turn, island: int) -> bool:
        """Place a checked candidate on ``island``; True if it became an elite."""
        cell = self.cells.setdefault(turn.id, self._cell(turn))
        return self.islands[island].place(turn, cell)

    def migrate(self) -> list[tuple[int, int, str]]:
        """Each island's best elite is offered to the next island (a ring); (from, to, turn id) of each placed."""
        bests = [isle.members()[0] if isle.grid else None for isle in self.islands]
        moved = []
        for i, best in enumerate(bests):
            target = (i + 1) % len(self.islands)
            if best is not None and target != i and self.islands[target].place(best, self.cells[best.id]):
                moved.append((i, target, best.id))
        return moved

    def members(self) -> list[Turn]:
        """Every elite of every island, once, best first."""
        seen: dict[str, Turn] = {}
        for isle in self.islands:
            for turn in isle.members():
                seen.setdefault(turn.id, turn)
        return sorted(seen.values(), key=lambda t: (fitness(t), -t.seq), reverse=True)

    def sample(self, island: int, rng: random.Random, exploitation: float, inspirations: int) -> tuple[Turn, list[Turn]]:
        """A parent and up to ``inspirations`` other elites from ``island`` (or, if it is empty, all islands).

        With probability ``exploitation`` the parent is the island's best elite, otherwise any
        of its elites; the inspirations are its best other elite, then others drawn at random.
        """
        pool = self.islands[island].members() or self.members()
        parent = pool[0] if rng.random() < exploitation else rng.choice(pool)
        others = [t for t in pool if t.id != parent.id]
        chosen = others[:1]
        rest = others[1:]
        rng.shuffle(rest)
        return parent, (chosen + rest)[:inspirations]

    def snapshot(self) -> list[dict[str, str]]:
        """Per island, each cell (as text) and the id of its elite: for tests and for reading a run."""
        return [{repr(cell): t.id for cell, t in sorted(isle.grid.items(), key=lambda kv: repr(kv[0]))}
                for isle in self.islands]


_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\S")


def normalised_hash(code: str, language: str) -> str:
    """A hash that ignores formatting, comments and (Python) docstrings: the program's AST, dumped."""
    text = " ".join(code.split())
    if language == "python":
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            pass
        else:
            for node in ast.walk(tree):
                body = getattr(node, "body", None)
                if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                        and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                    body[:] = body[1:] or [ast.Pass()]  # node.body itself, in place
            text = ast.dump(tree, annotate_fields=False, include_attributes=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def tokens(code: str) -> list[str]:
    """The program as identifiers, numbers and single symbols (what token similarity compares)."""
    return _TOKEN.findall("\n".join(line.split("#", 1)[0] if line.lstrip().startswith("#") else line
                                    for line in code.splitlines()))


class Novelty:
    """Rejects a program identical (normalised AST) or near-identical (token similarity) to one already seen."""

    def __init__(self, threshold: float | None, language: str) -> None:
        self.threshold, self.language = threshold, language
        self._hashes: dict[str, str] = {}
        self._tokens: list[tuple[str, list[str]]] = []

    def add(self, turn: Turn) -> None:
        """Remember a checked candidate of the database."""
        if turn.candidate is not None:
            self._hashes.setdefault(normalised_hash(turn.candidate, self.language), turn.id)
            self._tokens.append((turn.id, tokens(turn.candidate)))

    def rejection(self, code: str) -> Feedback | None:
        """The ``novelty`` rejection for ``code``, or None when it is new enough to be checked."""
        if self.threshold is None:
            return None
        same = self._hashes.get(normalised_hash(code, self.language))
        if same is not None:
            return _novelty(f"This program is the same as {same}'s (up to formatting and comments)", same, 1.0)
        mine = tokens(code)
        for turn_id, theirs in self._tokens:
            matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
            if matcher.real_quick_ratio() >= self.threshold and matcher.quick_ratio() >= self.threshold:
                ratio = matcher.ratio()
                if ratio >= self.threshold:
                    return _novelty(f"This program is nearly the same as {turn_id}'s (token similarity {ratio:.2f} "
                                    f">= {self.threshold:g})", turn_id, round(ratio, 4))
        return None


def _novelty(head: str, turn_id: str, similarity: float) -> Feedback:
    return Feedback(kind="novelty", passed=False, score=0.0,
                    summary=f"{head}: it was not checked again. Change what the program does, not how it looks.",
                    details={"same_as": turn_id, "similarity": similarity})


_EDIT = re.compile(r"^<{7} ?SEARCH[ \t]*\n(.*?)^={7}[ \t]*\n(.*?)^>{7} ?REPLACE[ \t]*$", re.MULTILINE | re.DOTALL)


def apply_edits(parent: str, reply: str) -> tuple[str | None, Feedback | None]:
    """``parent`` with the reply's search/replace blocks applied: (program, None); (None, None) when the
    reply has no blocks (it may hold a whole program); (None, failing ``edit`` feedback) when a block
    cannot be applied. Each SEARCH text must occur in the program as it is after the blocks before it;
    its first occurrence is replaced."""
    blocks = _EDIT.findall(reply)
    if not blocks:
        return None, None
    code = parent
    for n, (search, replace) in enumerate(blocks, 1):
        if not search.strip():
            return None, _edit_failed(n, len(blocks), "its SEARCH part is empty", search)
        if search not in code:
            return None, _edit_failed(n, len(blocks), "its SEARCH text does not occur in the program", search)
        code = code.replace(search, replace, 1)
    return code, None


def _edit_failed(n: int, total: int, why: str, search: str) -> Feedback:
    shown = search if len(search) <= 300 else search[:300] + "…"
    return Feedback(kind="edit", passed=False, score=0.0,
                    summary=f"Edit {n} of {total} could not be applied: {why}:\n{shown}\nCopy the lines to replace "
                            "exactly from the program, or answer with the whole program.",
                    details={"edit": n, "edits": total, "search": shown})
