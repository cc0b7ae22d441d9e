"""A stand-in check that a spare child runs before its job exists (see ``runner.warm``).

Shaped like a HumanEval check (a function, a loop, a comprehension, asserts, a class), so that
running it writes to the same shared pages of the warm heap that a real check's run writes to.
It reads nothing and writes nothing outside its own process.
"""


def candidate(numbers: list[float], threshold: float) -> bool:
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False


class Probe:
    def __init__(self, items: list[str]) -> None:
        self.items = sorted({s.strip().lower() for s in items if s})


def check(fn) -> None:
    assert fn([1.0, 2.0, 3.9, 4.0], 0.3) is True
    assert fn([1.0, 2.0, 5.9], 0.5) is False
    assert Probe(["b ", "A", "", "a"]).items == ["a", "b"]
    assert "".join(str(n) for n in range(3)) == "012" and {k: v for k, v in zip("ab", (1, 2))}["b"] == 2


check(candidate)
