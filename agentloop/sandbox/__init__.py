"""Running untrusted code: a fresh, confined process tree per execution. See docs/security.md.

Layer A (``process``, the default): forked from a warm zygote, new session, rlimits, Landlock
(writes only in the workdir, no TCP, no signals out), a fresh uid or capability-less root,
a pids cgroup, an allowlisted environment, a wall deadline and output caps enforced from
outside, and the whole tree killed afterwards. Layer B (``bwrap``): the same inside bubblewrap.
"""

from ..errors import SandboxError
from .box import ISOLATION_LEVELS, Sandbox
from .common import OUTPUT_LIMIT, ExecResult, base_environment, python_argv
from .workspace import Workspace

__all__ = ["ISOLATION_LEVELS", "OUTPUT_LIMIT", "ExecResult", "Sandbox", "SandboxError", "Workspace",
           "base_environment", "python_argv"]
