"""The older path of ``agentloop.store.result``, kept for user code that imports it."""

from .store.result import RunResult, objective_of

__all__ = ["RunResult", "objective_of"]
