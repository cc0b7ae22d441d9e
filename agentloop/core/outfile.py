"""Writing a command's output file: the folder must exist, and the file appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import InputError


def check_output(out: Path, option: str = "-o") -> Path:
    """The folder ``out`` goes into; ``InputError`` naming the option when it does not exist."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{out}: {option}: folder {folder} does not exist")
    if out.is_dir():
        raise InputError(f"{out}: {option}: is a folder, not a file")
    return folder


def write_atomic(out: Path, text: str) -> Path:
    """Write ``text`` to ``out`` through a temporary file renamed into place, so a reader (or a
    crash) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=check_output(out), prefix=f".{out.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from a web server or a colleague
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
