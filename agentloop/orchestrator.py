"""The older path of ``agentloop.engine.orchestrator``, kept for user code that imports it."""

from .engine.orchestrator import MODEL_CALL_LIMIT_S, Run, execute

__all__ = ["Run", "execute", "MODEL_CALL_LIMIT_S"]
