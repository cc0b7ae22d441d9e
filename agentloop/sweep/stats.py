"""Statistics a reviewer accepts: pass^k, bootstrap confidence intervals over tasks, the coverage fit.

- ``pass_hat_k``: pass^k (Yao et al. 2024, tau-bench), the chance that *all* k samples drawn
  without replacement from n, c of them correct, are correct: ``C(c, k) / C(n, k)``, unbiased
  like Chen et al.'s pass@k. pass^k <= pass@1 <= pass@k.
- ``Bootstrap``: the percentile bootstrap over tasks (Efron & Tibshirani 1993): tasks are drawn
  with replacement, the statistic recomputed per draw, and the 2.5th/97.5th percentiles of those
  values bound the 95% interval. The draws depend only on the number of tasks, the number of
  resamples and the seed, so the same results always give the same interval, and configurations
  over the same tasks are resampled identically (paired).
- ``fit_coverage``: Large Language Monkeys (Brown et al. 2024, arXiv:2407.21787, §3) model
  coverage against samples k as an exponentiated power law, ``log(coverage) = a * k**b``. Taking
  logs once more makes it linear, ``log(-log(coverage)) = log(-a) + b*log(k)``, fitted here by
  ordinary least squares on the points with 0 < coverage < 1.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

RESAMPLES = 2000  # bootstrap draws: the percentile endpoints move by < 0.005 between seeds at this size
SEED = 0
LEVEL = 0.95


def pass_hat_k(n: int, c: int, k: int) -> float:
    """P(all k samples drawn without replacement from n, c of them correct, are correct).

    ``C(c, k) / C(n, k)`` computed as ``prod_{i<k} (c-i)/(n-i)``, which never forms the binomials.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass^k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if c < k:
        return 0.0
    product = 1.0
    for i in range(k):
        product *= (c - i) / (n - i)
    return product


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval."""

    point: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """Plain data (results.json, summaries)."""
        return {"point": round(self.point, 4), "low": round(self.low, 4), "high": round(self.high, 4)}

    def text(self, digits: int = 3) -> str:
        """``0.300 [0.200, 0.400]``."""
        return f"{self.point:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@lru_cache(maxsize=16)
def _draws(tasks: int, resamples: int, seed: int) -> tuple[tuple[int, ...], ...]:
    rng = random.Random(f"agentloop-bootstrap:{seed}")  # a string seed hashes the same in every process
    return tuple(tuple(rng.randrange(tasks) for _ in range(tasks)) for _ in range(resamples))


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``q`` in [0, 1]."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class Bootstrap:
    """Percentile bootstrap over tasks, seeded: one fixed set of resampled task lists per task count."""

    def __init__(self, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> None:
        if resamples < 1 or not 0 < level < 1:
            raise ValueError("a bootstrap needs resamples >= 1 and 0 < level < 1")
        self.resamples, self.seed, self.level = resamples, seed, level

    def _interval(self, point: float, values: list[float]) -> Interval:
        values.sort()
        tail = (1 - self.level) / 2
        return Interval(point, _percentile(values, tail), _percentile(values, 1 - tail))

    def mean(self, values: Sequence[float]) -> Interval:
        """The mean over tasks (one value per task) and its interval."""
        if not values:
            raise ValueError("a bootstrap needs at least one task")
        n = len(values)
        get = list(values).__getitem__
        stats = [sum(map(get, draw)) / n for draw in _draws(n, self.resamples, self.seed)]
        return self._interval(sum(values) / n, stats)

    def ratio(self, numerators: Sequence[float], denominators: Sequence[float]) -> Interval | None:
        """sum(numerators) / sum(denominators), tasks resampled together; None when nothing is counted.

        A draw whose denominators sum to zero has no ratio and is left out of the percentiles.
        """
        if len(numerators) != len(denominators):
            raise ValueError("one numerator and one denominator per task")
        if not numerators or sum(denominators) <= 0:
            return None
        num, den = list(numerators).__getitem__, list(denominators).__getitem__
        stats = []
        for draw in _draws(len(numerators), self.resamples, self.seed):
            d = sum(map(den, draw))
            if d > 0:
                stats.append(sum(map(num, draw)) / d)
        return self._interval(sum(numerators) / sum(denominators), stats)

    def curve(self, per_task: Callable[[int], Sequence[float]], xs: Sequence[int]) -> dict[int, Interval]:
        """``mean`` at each x of a per-task curve (``per_task(x)`` gives one value per task)."""
        return {x: self.mean(per_task(x)) for x in xs}


@dataclass(frozen=True)
class CoverageFit:
    """``coverage(k) = exp(a * k**b)`` fitted to a coverage curve (Brown et al. 2024)."""

    a: float
    b: float
    r2: float  # of the linear fit of log(-log(coverage)) on log(k)
    points: int  # the k used: those with 0 < coverage < 1

    def predict(self, k: float) -> float:
        """Coverage the fit gives at ``k`` samples."""
        return math.exp(self.a * k ** self.b)

    def to_dict(self) -> dict[str, float]:
        """Plain data (results.json, summaries)."""
        return {"a": round(self.a, 4), "b": round(self.b, 4), "r2": round(self.r2, 4), "points": self.points}


def fit_coverage(curve: dict[int, float]) -> CoverageFit | None:
    """The exponentiated power law through a coverage curve; None with fewer than two usable points."""
    pts = [(math.log(k), math.log(-math.log(c))) for k, c in sorted(curve.items()) if 0 < c < 1 and k >= 1]
    if len(pts) < 2 or len({x for x, _ in pts}) < 2:
        return None
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in pts)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in pts)
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return CoverageFit(a=-math.exp(intercept), b=slope, r2=r2, points=n)
