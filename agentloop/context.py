"""The older path of ``agentloop.engine.context``, kept for user code that imports it."""

from .engine.context import RunContext

__all__ = ["RunContext"]
