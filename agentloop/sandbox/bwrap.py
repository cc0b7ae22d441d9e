"""Layer B: bubblewrap around each execution (private pid, network, IPC and mount namespaces).

Optional: used when ``sandbox.isolation: bwrap`` and the ``bwrap`` binary passes a start-up
self-test; otherwise the sandbox falls back to Layer A and says so. Inside, the file system is
the host's, read-only, with a private /tmp and /dev, the work folder writable, the task's own
files mounted read-only over it, and folders a fresh uid could not reach (a 0700 home holding
the interpreter) replaced by an empty tmpfs with only the interpreter bound back in.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

NAMESPACES = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
              "--unshare-uts", "--unshare-cgroup-try"]


@functools.lru_cache(maxsize=1)
def _self_test() -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap not found on PATH (Debian: apt-get install bubblewrap)"
    try:
        proc = subprocess.run([exe, *NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--",
                               "/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap self-test failed: {exc}"
    if proc.returncode != 0:
        return f"bwrap self-test failed: {proc.stderr.decode('utf-8', 'replace').strip()[:200]}"
    return None


def available() -> bool:
    """True when bubblewrap is installed and can create the namespaces here."""
    return _self_test() is None


def why_unavailable() -> str:
    """Why Layer B cannot be used (empty when it can)."""
    return _self_test() or ""


def _hidden_top(path: str) -> str | None:
    # the topmost folder above ``path`` that others cannot search (e.g. /root, mode 0700)
    top = None
    for q in reversed([Path(path), *Path(path).parents]):
        if q != Path("/") and not os.stat(q).st_mode & 0o001:
            return str(q)
    return top


_PRIVATE = ("/tmp", "/dev/shm")  # replaced by empty tmpfs inside


def _interpreter_paths() -> list[str]:
    here = str(Path(__file__).resolve().parent.parent.parent)  # agentloop's own folder (a checkout in /tmp, too)
    paths = {sys.prefix, sys.base_prefix, here, *[p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]}
    return sorted(p for p in (os.path.realpath(q) for q in paths) if os.path.isdir(p))


def _masked_by(path: str) -> str | None:
    # the folder above ``path`` that is empty inside the namespace: a private tmpfs, or a hidden home
    for private in _PRIVATE:
        if path.startswith(private + "/"):
            return private
    return _hidden_top(path)


def argv(workdir: str, read_only: list[str], inner: list[str]) -> list[str]:
    """The bwrap command line running ``inner`` with ``workdir`` writable and ``read_only`` files not."""
    args = [shutil.which("bwrap") or "bwrap", *NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    needed = _interpreter_paths()
    for top in sorted({t for p in needed if (t := _hidden_top(p))}):
        args += ["--perms", "0755", "--tmpfs", top]
    made: set[Path] = set()
    for path in needed:
        masked = _masked_by(path)
        if not masked:
            continue
        for folder in reversed(Path(path).parents):  # bwrap would make these 0700
            if folder not in made and Path(masked) in folder.parents:
                made.add(folder)
                args += ["--perms", "0755", "--dir", str(folder)]
        args += ["--ro-bind", path, path]
    for parent in reversed(Path(workdir).parents):  # bwrap would make them 0700: a fresh uid must pass
        if str(parent) not in ("/", "/tmp"):
            args += ["--perms", "0711", "--dir", str(parent)]
    args += ["--bind", workdir, workdir]
    for path in read_only:
        args += ["--ro-bind", path, path]
    return [*args, "--chdir", workdir, "--", *inner]
