"""What a confined child runs: an executable (exec) or Python code in the already-warm interpreter.

The in-process path behaves like ``python -s -P ARGS`` for ``-m MODULE``, ``-c CODE`` and
``SCRIPT``: its own argv, environment, unbuffered stdio, fresh random state, atexit handlers and
non-daemon threads honoured at the end, and the exit status of SystemExit.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import io
import os
import runpy
import sys
import threading
import traceback

_FLAGS = {"-s", "-P", "-I", "-E", "-B", "-u", "-S"}
_WARM_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warm_check.py")


def warm(env: dict[str, str]) -> None:
    """In a spare child, before its job exists: write to the shared pages that every run writes to.

    A forked child shares the zygote's heap until it writes to a page; each first write copies that
    page (a fault costing microseconds, several hundred per run). Taking them here, while no check
    waits, keeps them off the check's path. Only this package's own stand-in check runs: nothing
    of any job exists in this process yet, and ``run`` resets all it touches (argv, environment,
    streams, random state).
    """
    os.environ.clear()
    os.environ.update(env)
    io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True).write("warm")
    saved = sys.argv[:]
    runpy.run_path(_WARM_CHECK, run_name="__main__")
    sys.argv[:] = saved


def run(argv: list[str], env: dict[str, str], *, python: bool, path_map: dict[str, str] | None = None) -> int:
    """Run ``argv``; returns the exit status (an exec does not return).

    ``path_map`` replaces ``sys.path`` entries with equivalent paths this process can reach.
    """
    if not python:
        program = argv[0]
        for folder, reachable in (path_map or {}).items():
            if os.path.dirname(program) == folder:
                program = os.path.join(reachable, os.path.basename(program))
        os.execvpe(program, argv, env)
    if path_map:
        _remap_imports(path_map)
    os.environ.clear()
    os.environ.update(env)
    _fresh_state(env)
    args = argv[1:]
    while args and args[0] in _FLAGS:
        args = args[1:]
    try:
        _main(args)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001 - an uncaught exception is exit 1 with its traceback, as in python
        traceback.print_exc()
        code = 1
    code = _finish(code)
    return code


def _remap_imports(path_map: dict[str, str]) -> None:
    """Point sys.path, and the search paths of packages imported from now on, at reachable equivalents.

    Rewriting every loaded package's ``__path__`` would touch (and so copy) most of the warm
    heap; a finder that remaps a package's search path only when a submodule is imported does not.
    """
    prefixes = sorted(path_map, key=len, reverse=True)

    def remap(path: str) -> str:
        for prefix in prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return path_map[prefix] + path[len(prefix):]
        return path

    class Remapper:
        @staticmethod
        def find_spec(name, path=None, target=None):  # importlib's finder protocol
            if path is None:
                return None
            mapped = [remap(p) for p in path]
            if mapped == list(path):
                return None
            return importlib.machinery.PathFinder.find_spec(name, mapped, target)

    sys.path[:] = [remap(p) for p in sys.path]
    sys.meta_path.insert(0, Remapper)


def _main(args: list[str]) -> None:
    if not args:
        raise SystemExit("agentloop sandbox: nothing to run")
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        # a module the warm process preloaded (the solution boundary) is found again, through the remapped
        # search path: its spec in sys.modules names a file this uid may not be able to reach (a 0700 /root)
        sys.modules.pop(args[1], None)
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    else:
        sys.argv = list(args)
        runpy.run_path(args[0], run_name="__main__")


def _fresh_state(env: dict[str, str]) -> None:
    # a forked child inherits the warm process's caches: reset what real start-up would compute anew
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  write_through=True)
    # typeshed declares these Final, but a forked child must point them at its own streams too
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr  # type: ignore[misc]
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = extra
    import random
    import tempfile
    random.seed()
    tempfile.tempdir = None


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")  # as the interpreter does for a non-integer exit code
    return 1


def _finish(code: int) -> int:
    # what interpreter shutdown does: wait for non-daemon threads, run atexit, flush
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # CPython-private: typeshed does not declare it
    except BaseException:  # noqa: BLE001
        pass
    try:
        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    return code
