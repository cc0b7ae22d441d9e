"""Landlock through ctypes: the kernel's unprivileged allowlist for files, TCP and signals.

No install needed (Linux ≥5.13; TCP rules need ABI 4, signal and abstract-socket scoping ABI 6).
A process restricts itself and every process it starts, irreversibly; nothing a candidate does
afterwards can widen it. ``ruleset`` is built in the sandboxed child between fork and run.
"""

from __future__ import annotations

import ctypes
import os
import struct

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # the same on every architecture
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH, _NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE = sum(1 << b for b in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # rights a rule on a non-directory may carry
READ = EXECUTE | READ_FILE | READ_DIR
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    version = _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    return max(int(version), 0)


def handled_fs(version: int) -> int:
    """Every filesystem right this ABI knows (all are denied unless a rule allows them)."""
    rights = READ | WRITE_FILE | _MAKE
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


class Ruleset:
    """One Landlock ruleset: add allowed paths, then ``restrict`` the calling process."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.fs = handled_fs(version)
        net = 3 if version >= 4 else 0  # bind and connect TCP: no rule allows either
        scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if version >= 6 else 0
        attr = struct.pack("QQQ", self.fs, net, scoped)
        size = 24 if version >= 6 else 16 if version >= 4 else 8
        buf = ctypes.create_string_buffer(attr[:size], size)
        fd = _libc.syscall(_SYS_CREATE, buf, ctypes.c_size_t(size), ctypes.c_uint32(0))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        self.fd = int(fd)

    def allow_fd(self, fd: int, rights: int, *, is_dir: bool) -> None:
        """Allow ``rights`` beneath the file or folder open as ``fd`` (an O_PATH descriptor is enough)."""
        rights &= self.fs if is_dir else (self.fs & FILE_ONLY)
        if not rights:
            return
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        if _libc.syscall(_SYS_ADD_RULE, ctypes.c_int(self.fd), ctypes.c_int(_PATH_BENEATH), attr,
                         ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_add_rule failed")

    def allow_path(self, path: str, rights: int) -> None:
        """Allow ``rights`` beneath ``path``; a missing path is skipped."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            self.allow_fd(fd, rights, is_dir=os.path.isdir(f"/proc/self/fd/{fd}"))
        finally:
            os.close(fd)

    def restrict(self) -> None:
        """Enforce the ruleset on this process and its future children (needs no_new_privs)."""
        try:
            if _libc.syscall(_SYS_RESTRICT, ctypes.c_int(self.fd), ctypes.c_uint32(0)) < 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
        finally:
            os.close(self.fd)
