"""The older path of ``agentloop.engine.signals``, kept for user code that imports it."""

from .engine.signals import STOP_SIGNALS, Interrupted, SignalStop

__all__ = ["STOP_SIGNALS", "Interrupted", "SignalStop"]
