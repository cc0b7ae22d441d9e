"""The exception tree of agentloop.

::

    AgentloopError                 base of everything raised on purpose
    ├── InputError                 bad input from the user: exit code 2, nothing written
    │   ├── TaskFileError          an unreadable or invalid task file (names file, field, line)
    │   ├── ModelURIError          an unknown or malformed model URI
    │   └── OverrideError          a bad ``--set KEY=VALUE``
    ├── RunNotFoundError           ``show``/``resume`` of a run id the store does not hold (exit 2)
    ├── RunActiveError             another live process holds the run's lock (exit 3)
    └── RunError                   the run itself failed (exit 3; the run stays resumable)
        ├── ModelError             a backend failed (load, call, deadline)
        │   └── ScriptExhaustedError   a scripted role ran out of replies
        └── SandboxError           the sandbox machinery failed (its worker died, it could not start a
                                   check): never the candidate's fault; the run ends ``error``

A bad candidate is never an exception: it is a ``Feedback`` with ``passed=False``.
Exceptions never print or log; the CLI turns them into one line and an exit code.
"""

from __future__ import annotations


class AgentloopError(Exception):
    """Base class of every error agentloop raises on purpose."""


class InputError(AgentloopError):
    """Bad user input; the CLI exits 2 and writes nothing."""


class TaskFileError(InputError):
    """An invalid task file. The message names the file, the field and, where known, the line."""

    def __init__(self, path: str, field: str, message: str, line: int | None = None) -> None:
        self.path, self.field, self.line = path, field, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ModelURIError(InputError):
    """A model URI that names no known backend or a file that is not there."""


class OverrideError(InputError):
    """A ``--set KEY=VALUE`` that cannot be applied."""


class RunNotFoundError(AgentloopError):
    """The store holds no run with this id."""


class RunActiveError(AgentloopError):
    """Another live process is running or resuming this run (it holds the run's lock)."""


class RunError(AgentloopError):
    """A run failed for a reason other than bad input; it stays resumable."""


class ModelError(RunError):
    """A model backend failed: it could not load, the call failed, or a deadline passed."""


class ScriptExhaustedError(ModelError):
    """A scripted model's role ran out of replies."""

    def __init__(self, role: str, path: str) -> None:
        self.role = role
        super().__init__(f"scripted model {path}: role '{role}' ran out of replies")


class SandboxError(RunError):
    """The sandbox machinery failed, e.g. its worker died mid-check (not: the candidate failed a check).

    The one class for every sandbox failure (``agentloop.sandbox.SandboxError`` is this class): a
    ``RunError``, so the run ends with status ``error`` and one line, and ``resume`` continues it.
    """
