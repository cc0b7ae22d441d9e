"""Confining one sandboxed process, in the child between fork and running the candidate.

Order matters: join the cgroup and build the Landlock ruleset while still root, set rlimits,
then give up identity (a fresh uid, or root's capabilities) last. Every step that fails where
the feature exists aborts the child: a half-confined candidate must never run.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from dataclasses import dataclass, field
from typing import Literal

from . import landlock

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_CHILD_SUBREAPER = 24, 28, 36
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# keep-caps off and locked, no root magic on exec, no setuid fixups: uid 0 stays powerless
_SECUREBITS = 0b101111
# the /etc entries programs read at start-up (loader, users, time zone, name service); nothing else in
# /etc (shadow, ssh keys, credentials) is readable from the sandbox, which matters most when it keeps uid 0
ETC_READ = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
            "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf", "mime.types", "protocols",
            "services", "os-release", "debian_version", "alternatives", "locale.alias", "gcc")
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc", "/sys",
               "/dev/urandom", "/dev/random", "/dev/zero", "/dev/full")


def prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    """prctl(2), raising on failure."""
    if _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def world_reachable(path: str) -> bool:
    """Can any uid walk to ``path`` (every folder above it searchable by others)?"""
    real = os.path.realpath(path)
    parts = [real]
    while parts[-1] != "/":
        parts.append(os.path.dirname(parts[-1]))
    try:
        return all(os.stat(p).st_mode & 0o001 for p in parts)
    except OSError:
        return False


def static_read_paths() -> list[str]:
    """Paths every sandboxed process may read: the system, the interpreter and its packages."""
    paths = list(SYSTEM_READ)
    paths += [sys.prefix, sys.base_prefix, sys.exec_prefix]
    # package folders, never a project folder on sys.path: a task folder there would show hidden tests
    paths += [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    paths += [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]  # the agentloop package itself
    paths += [f"/etc/{name}" for name in ETC_READ]
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    # one rule per tree: a path beneath another allowed one adds nothing but a syscall per execution
    return [p for p in real if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in real)]


@dataclass
class Limits:
    """Resource limits of one execution."""

    memory_bytes: int
    cpu_s: int
    file_bytes: int
    open_files: int
    processes: int


@dataclass
class Confinement:
    """What to apply in the child: read by ``apply`` after fork."""

    workdir: str
    limits: Limits
    uid: int | None  # a fresh uid to become (only as root), or None to keep this one
    landlock_abi: int
    read_fds: list[tuple[int, bool]] = field(default_factory=list)  # pre-opened O_PATH fds and is-dir
    read_paths: list[str] = field(default_factory=list)  # or paths to open now
    cgroup: str | None = None


def join_cgroup(path: str) -> None:
    """Move this process into ``path`` (its pids limit and whole-tree kill then cover it)."""
    with open(os.path.join(path, "cgroup.procs"), "w") as fh:
        fh.write(str(os.getpid()))


def set_limits(limits: Limits, *, separate_uid: bool) -> None:
    """rlimits; the process count only binds a non-root uid (the kernel exempts root)."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_STACK, (64 << 20, 64 << 20))
    if separate_uid:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def read_rules(landlock_abi: int, read_fds: list[tuple[int, bool]], read_paths: list[str]) -> landlock.Ruleset:
    """A ruleset allowing reads from the system and the interpreter, not yet enforced (it is job-independent)."""
    rules = landlock.Ruleset(landlock_abi)
    for fd, is_dir in read_fds:
        rules.allow_fd(fd, landlock.READ, is_dir=is_dir)
    for path in read_paths:
        rules.allow_path(path, landlock.READ)
    return rules


def enforce_landlock(rules: landlock.Ruleset, workdir: str) -> None:
    """Add the job's own rule (writes only in its workdir) and enforce: no TCP, no signals out."""
    rules.allow_path(workdir, rules.fs)
    rules.allow_path("/dev/null", landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE)
    rules.restrict()


def drop_identity(uid: int | None) -> None:
    """Become ``uid`` (no groups), or stay uid 0 with every capability gone for good."""
    if os.getuid() != 0:
        return
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears every capability
        return
    prctl(PR_SET_SECUREBITS, _SECUREBITS)
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            break  # past the last capability this kernel knows
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _clear_capabilities()


def _clear_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable for both 32-bit halves: all zero
    if _libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def prepare(landlock_abi: int, read_fds: list[tuple[int, bool]], read_paths: list[str]) -> landlock.Ruleset | None:
    """The job-independent steps, which a pre-forked child takes before any job exists.

    Death signal, no_new_privs and the read rules of Landlock (built, enforced only by ``apply``).
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    return read_rules(landlock_abi, read_fds, read_paths) if landlock_abi else None


def apply(conf: Confinement, prepared: landlock.Ruleset | None | Literal[False] = False) -> None:
    """Everything, in order. Raises if any available protection could not be applied.

    ``prepared``: what ``prepare`` returned when it ran ahead in this process; False to run it now.
    """
    parent = os.getppid()
    if conf.cgroup:
        join_cgroup(conf.cgroup)
    rules = prepare(conf.landlock_abi, conf.read_fds, conf.read_paths) if prepared is False else prepared
    set_limits(conf.limits, separate_uid=conf.uid is not None)
    if conf.landlock_abi:
        if rules is None:
            raise OSError("landlock ruleset missing")  # never run with less than the kernel offers
        enforce_landlock(rules, conf.workdir)
    drop_identity(conf.uid)
    # a change of uid clears the death signal (commit_creds): set it again, as the new uid
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise OSError("the sandbox worker died during confinement")
    os.chdir(conf.workdir)


def apply_outer(conf: Confinement) -> None:
    """For a bubblewrap launcher: cgroup, death signal and limits only (bwrap needs root to build namespaces)."""
    if conf.cgroup:
        join_cgroup(conf.cgroup)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    set_limits(conf.limits, separate_uid=False)
