"""agentloop: an async runtime for agentic critique-and-refine driven by real execution feedback.

Public names only; importing agentloop does no work.
"""

from .api import aresume, arun, load_run, resume, run
from .checks import Feedback
from .core.status import RunStatus
from .errors import AgentloopError, InputError, ModelError, RunError, TaskFileError
from .models import Completion, Model, ModelPool, Request, Usage
from .models.scripted import ScriptedModel
from .store import Store
from .store.graph import Turn, TurnGraph
from .store.result import RunResult
from .task import Task
from .wrap import arefine, refine, refined

__all__ = [
    "AgentloopError", "Completion", "Feedback", "InputError", "Model", "ModelError", "ModelPool", "Request", "RunError",
    "RunResult", "RunStatus", "ScriptedModel", "Store", "Task", "TaskFileError", "Turn", "TurnGraph", "Usage",
    "arefine", "aresume", "arun", "load_run", "refine", "refined", "resume", "run",
]
__version__ = "0.1.0"
