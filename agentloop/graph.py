"""The older path of ``agentloop.store.graph``, kept for user code that imports it."""

from .store.graph import Turn, TurnGraph

__all__ = ["Turn", "TurnGraph"]
