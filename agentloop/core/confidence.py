"""Token confidence: how sure the model was of what it wrote, measured from its own probabilities.

Three measures per reply, each over the tokens the model sampled:

- ``mean_logprob``: the mean log-probability of the sampled tokens (the classic sequence score).
- ``lowest_group``: DeepConf's lowest group confidence (Fu et al. 2025, facebookresearch/deepconf).
  A token's confidence is the negative mean log-probability of the ``top_k`` most likely tokens
  at that step (high when the distribution is peaked); a group is a sliding window of ``window``
  consecutive tokens; the reply's measure is the lowest group mean — one confused stretch pulls it
  down even if the rest is fluent. A reply shorter than a window is one group.
- ``self_certainty``: Kang et al. 2025 (arXiv 2502.18581): the mean over tokens of the KL divergence
  of the model's full next-token distribution from the uniform one, ``-log V - mean_j log p_j``.
  It needs every token's probability, so only an in-process model (llama.cpp) gives it; from a
  provider's top-k log-probabilities it is ``None``.

Higher is more confident for all three. The distribution measured is the model's own (its raw
logits, temperature 1), not the one sampling settings reshaped, so the measures do not move just
because a run samples at another temperature; the *tokens* sampled do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TOP_K = 20  # DeepConf's k; also the most top_logprobs OpenAI-compatible APIs return
WINDOW = 32  # tokens per group; DeepConf uses 2048 on long reasoning traces, code replies here are ~100-300


@dataclass(frozen=True)
class Confidence:
    """The confidence measures of one reply (see the module docstring)."""

    tokens: int
    mean_logprob: float | None
    lowest_group: float | None
    self_certainty: float | None
    window: int = WINDOW
    top_k: int = TOP_K

    def to_dict(self) -> dict[str, Any]:
        """Plain data (a turn's ``confidence`` in ``show --json``)."""
        return {"tokens": self.tokens, "mean_logprob": self.mean_logprob, "lowest_group": self.lowest_group,
                "self_certainty": self.self_certainty, "window": self.window, "top_k": self.top_k}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Confidence | None:
        """Inverse of ``to_dict``; None stays None."""
        if d is None:
            return None
        return cls(d["tokens"], d.get("mean_logprob"), d.get("lowest_group"), d.get("self_certainty"),
                   d.get("window", WINDOW), d.get("top_k", TOP_K))

    def describe(self) -> str:
        """One line for ``show``."""
        def num(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.3f}"
        return (f"confidence: mean logprob {num(self.mean_logprob)}, lowest group {num(self.lowest_group)} "
                f"(window {self.window}), self-certainty {num(self.self_certainty)} over {self.tokens} tokens")


def lowest_group(token_confidences: Sequence[float], window: int = WINDOW) -> float | None:
    """The lowest mean of ``window`` consecutive token confidences (all of them if fewer)."""
    n = len(token_confidences)
    if n == 0:
        return None
    if n <= window:
        return _round(sum(token_confidences) / n)
    total = sum(token_confidences[:window])
    low = total
    for i in range(window, n):  # slide: add the token entering the window, drop the one leaving it
        total += token_confidences[i] - token_confidences[i - window]
        low = min(low, total)
    return _round(low / window)


def token_confidence(top_logprobs: Sequence[float]) -> float:
    """DeepConf's token confidence: the negative mean of the top-k log-probabilities."""
    return -sum(top_logprobs) / len(top_logprobs)


def summarize(logprobs: Sequence[float], token_confidences: Sequence[float] | None,
              certainties: Sequence[float] | None, *, window: int = WINDOW, top_k: int = TOP_K) -> Confidence:
    """The measures of one reply from its per-token values (either list may be missing: its measure is None)."""
    return Confidence(
        tokens=len(logprobs),
        mean_logprob=_round(sum(logprobs) / len(logprobs)) if logprobs else None,
        lowest_group=lowest_group(token_confidences, window) if token_confidences else None,
        self_certainty=_round(sum(certainties) / len(certainties)) if certainties else None,
        window=window, top_k=top_k)


def from_top_logprobs(steps: Sequence[tuple[float, Sequence[float]]], *, window: int = WINDOW) -> Confidence | None:
    """Measures from (sampled token's logprob, top-k logprobs) per step, as an API or a script gives them."""
    if not steps:
        return None
    logprobs = [float(lp) for lp, _ in steps]
    confidences = [token_confidence([float(x) for x in top]) for _, top in steps if top]
    top_k = max((len(top) for _, top in steps), default=0) or TOP_K
    return summarize(logprobs, confidences if len(confidences) == len(steps) else None, None,
                     window=window, top_k=top_k)


@dataclass(frozen=True)
class EarlyStop:
    """Where a generation was stopped for low confidence (DeepConf online): after ``token`` tokens, the
    mean confidence of the last ``window`` of them, ``group``, was below ``threshold``."""

    token: int
    group: float
    threshold: float

    def describe(self) -> str:
        """The one-line reason, as a stopped turn's feedback says it."""
        return f"stopped at token {self.token}: group confidence {self.group:.2f} < threshold {self.threshold:.2f}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the details of a stopped turn's feedback)."""
        return {"token": self.token, "group": self.group, "threshold": self.threshold}


def first_low_group(token_confidences: Sequence[float], threshold: float, window: int = WINDOW) -> EarlyStop | None:
    """The first point where the last ``window`` token confidences average below ``threshold``.

    Checked from the ``window``-th token on (a shorter stretch is never judged), as a generation
    that is stopped online would be; None if no window falls below.
    """
    total = 0.0
    for i, c in enumerate(token_confidences):
        total += c - (token_confidences[i - window] if i >= window else 0.0)
        if i + 1 >= window and total / window < threshold:
            return EarlyStop(i + 1, _round(total / window), threshold)
    return None


def stop_threshold(lowest_groups: Sequence[float], keep: float) -> float | None:
    """DeepConf's online threshold from warm-up samples: the ``100 (1 - keep)``-th percentile of their
    lowest group confidences (linear interpolation, numpy's default), so a later sample as confident
    as the top ``keep`` of the warm-up ones is never stopped; None without any warm-up measure."""
    values = sorted(lowest_groups)
    if not values:
        return None
    pos = (len(values) - 1) * (1.0 - keep)
    low = math.floor(pos)
    high = min(low + 1, len(values) - 1)
    return _round(values[low] + (values[high] - values[low]) * (pos - low))


class Tracker:
    """Per-token measures of one generation, from the model's full logits row at each step (llama.cpp)."""

    def __init__(self, n_vocab: int, *, top_k: int = TOP_K, window: int = WINDOW, stop_below: float | None = None) -> None:
        import numpy as np  # llama-cpp-python's own dependency: only a local model makes a Tracker
        self._np = np
        self._log_v = math.log(n_vocab)
        self.top_k, self.window = top_k, window
        self.logprobs: list[float] = []
        self.confidences: list[float] = []
        self.certainties: list[float] = []
        # DeepConf's online stop: ``stopped`` is set at the first token whose window mean is below it
        self.stop_below = stop_below
        self.stopped: EarlyStop | None = None

    def add(self, logits: Any, token: int) -> None:
        """Record the step whose distribution is ``logits`` (raw, one row) and whose sampled token is ``token``."""
        np = self._np
        peak = float(logits.max())
        lse = peak + math.log(float(np.exp(logits - peak).sum()))
        top = np.partition(logits, -self.top_k)[-self.top_k:]
        self.logprobs.append(float(logits[token]) - lse)
        self.confidences.append(lse - float(top.mean()))
        self.certainties.append(lse - float(logits.mean()) - self._log_v)

        if self.stop_below is not None and self.stopped is None and len(self.confidences) >= self.window:
            group = sum(self.confidences[-self.window:]) / self.window
            if group < self.stop_below:
                self.stopped = EarlyStop(len(self.confidences), _round(group), self.stop_below)

    def result(self) -> Confidence | None:
        """The reply's measures (None if it sampled nothing)."""
        if not self.logprobs:
            return None
        return summarize(self.logprobs, self.confidences, self.certainties, window=self.window, top_k=self.top_k)


def _round(x: float) -> float:
    return round(x, 6)
