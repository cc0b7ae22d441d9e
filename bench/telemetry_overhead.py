"""What agentloop's OpenTelemetry hooks cost per turn (a model-call, a check and a turn span).

Three settings, each in its own interpreter (the tracer provider is process-global):
``absent`` (opentelemetry hidden from the interpreter), ``api`` (the API installed, no provider
set: OpenTelemetry's default) and ``sdk`` (an SDK provider with no exporter). The baseline is three
``contextlib.nullcontext()`` blocks, the least any hook could cost.

    python bench/telemetry_overhead.py
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import contextlib, json, sys, time
mode = sys.argv[1]
if mode == "absent":
    sys.modules["opentelemetry"] = None  # an import of it now fails, as if it were not installed
if mode == "sdk":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
from agentloop.core import telemetry
from agentloop.models.base import Request, Usage

request, usage, n = Request(role="solver", max_tokens=64), Usage(10, 5), 20000


def hooks():
    with telemetry.model_call("scripted:x.yaml", request) as span:
        span.usage(usage)
    with telemetry.check("tests"):
        pass
    with telemetry.span("agentloop.turn", role="solver") as span:
        span.usage(usage)


def nothing():
    for _ in range(3):
        with contextlib.nullcontext():
            pass


def per_turn(fn):
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


print(json.dumps({"mode": mode, "hooks_us": round(per_turn(hooks), 2), "baseline_us": round(per_turn(nothing), 2)}))
"""


def main() -> None:
    """Print one line per setting: microseconds per turn for the hooks and for the baseline (best of 5)."""
    for mode in ("absent", "api", "sdk"):
        out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
        print(json.dumps(json.loads(out.stdout)))


if __name__ == "__main__":
    main()
