"""Limits, the result type and the environment shared by the sandbox's parts."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_LIMIT = 1 << 20  # bytes kept per stream
ARTIFACT_LIMIT = 4 << 20
CHANNEL_LIMIT = 4 << 20  # the report channel of a check
FILE_SIZE_LIMIT = 64 << 20
OPEN_FILES = 256
MAX_PROCESSES = 64  # per execution: a fork storm stops here (cgroup pids.max, or RLIMIT_NPROC per uid)
EOF_GRACE_S = 0.5  # how long to wait for the pipes to close once the process tree is dead


@dataclass(frozen=True)
class ExecResult:
    """What one execution did.

    ``status`` is ok, exit (non-zero), signal (a crash), timeout, memory or output_limit.
    ``channel`` holds what the execution wrote on its report channel (descriptor 3), if asked for.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    artifacts: dict[str, bytes] = field(default_factory=dict)
    channel: bytes = b""
    isolation: str = ""

    @property
    def ok(self) -> bool:
        """True when the program exited 0 within every limit."""
        return self.status == "ok"


def python_argv(*args: str) -> list[str]:
    """argv for this interpreter, isolated: no user site (-s), no script or cwd path prepended (-P).

    Not ``-I``: its ``-E`` would also drop PYTHONHASHSEED, and hash randomisation made
    hypothesis's derandomized shrinking return a different counterexample on every run. The
    environment is an allowlist built here, so honouring it cannot let a PYTHON* variable in.
    Such an argv runs inside the warm zygote rather than starting a new interpreter.
    """
    return [sys.executable, "-s", "-P", *args]


def base_environment(workdir: str | Path) -> dict[str, str]:
    """An allowlist, never a copy of os.environ: API keys and tokens must not reach candidates."""
    path_dirs = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path_dirs)),
        "HOME": str(workdir), "TMPDIR": str(workdir), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MALLOC_ARENA_MAX": "2",
    }
