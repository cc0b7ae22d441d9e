"""Shared machinery of the hostile-code tests (tests/security/).

A hostile case is driven end to end: a task whose scripted solver writes the hostile candidate and
whose refiner then writes a good one, run with ``agentloop run --json`` under ``reaper.py`` (a
child subreaper that reports every process of the run still alive after the CLI exits). "The
candidate was survived" means, checked by ``assert_survived``:

- the CLI stayed alive and finished; the hostile turn's verdict is FAIL, classified with an
  expected sandbox status, and each of its checks took at most its wall limit + 1 s;
- no process of the run remains (the reaper's report, plus a /proc scan for the sandbox's folders);
- the next execution in the same orchestrator works: the refined candidate passes, the run is solved.

Canary files outside the workdir are checked by the tests that try to write them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from helpers import GOOD_FIZZ, REPO
from reaper import live_tree

from agentloop import Feedback, Turn, load_run
from agentloop.sandbox import Sandbox, python_argv
from agentloop.sandbox.client import spare_pids
from agentloop.task import SandboxSpec

REAPER = Path(__file__).with_name("reaper.py")
WARMUP = Path(__file__).with_name("warmup_kind.py")  # the task-local feedback kind every hostile task runs first
LAYERS = ("process", "bwrap")
# wall limit per execution in hostile tasks: short, because every endless candidate costs it in full;
# Layer B starts an interpreter per execution, so the good candidate that follows needs more room
WALL = {"process": 2, "bwrap": 3}
SETTLE_S = 1.0  # how long an orphan may take to die after the CLI exits before it counts as a leftover
GOOD_C_MAX = "```c\n#include <stdio.h>\nint max3(int a, int b, int c) { int m = a > b ? a : b; return m > c ? m : c; }\n" \
             "int main(void) { int a, b, c; if (scanf(\"%d %d %d\", &a, &b, &c) != 3) return 1;\n" \
             "  printf(\"%d\\n\", max3(a, b, c)); return 0; }\n```"
FIZZ_CASES = [{"stdin": "3\n", "stdout": "Fizz\n"}]
FIZZ_MAIN = "\nif __name__ == '__main__':\n    print(fizzbuzz(int(input())))\n"


def sandbox_has_layers() -> bool:
    """True once ``Sandbox`` takes ``isolation=`` (the layered sandbox)."""
    return "isolation" in inspect.signature(Sandbox).parameters


@functools.cache
def unavailable(layer: str) -> str | None:
    """Why isolation ``layer`` cannot be tested on this machine, or None when it can."""
    if not sandbox_has_layers():
        return None if layer == "process" else \
            "this agentloop Sandbox has no isolation= parameter yet, so Layer B (bubblewrap) cannot be chosen"
    if layer == "bwrap" and shutil.which("bwrap") is None:
        return "bubblewrap is not installed (apt-get install -y bubblewrap)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a fallback is reported as the skip reason instead
        box = Sandbox(isolation=layer)
    box.close()
    # a layer the sandbox accepts without falling back is tested: if it then cannot run, that is a failure
    return None if box.layer == layer else f"Sandbox(isolation={layer!r}) falls back to {box.layer}: {box.fallback}"


def new_sandbox(layer: str) -> Sandbox:
    """A Sandbox for ``layer`` (the only one there is while the sandbox has no layers)."""
    return Sandbox(isolation=layer) if sandbox_has_layers() else Sandbox()


async def warm_up(box: Sandbox) -> None:
    """One trivial run, so that the warm zygote exists before a test takes its process snapshot."""
    async with box.workspace({}) as ws:
        await ws.run(python_argv("-c", "pass"), timeout_s=60, memory_mb=256)


def fenced(code: str, language: str = "python") -> str:
    """A model reply holding ``code`` in one fenced block."""
    return f"```{language}\n{code.strip()}\n```"


def hostile_task(folder: Path, *, layer: str, candidate: str | list[str], feedback: list[dict], language: str = "python",
                 good: str | None = None, timeout_s: float | None = None, memory_mb: int = 256,
                 entry_point: str = "fizzbuzz", scan: bool = True, then_good: bool = True,
                 extra: dict | None = None) -> Path:
    """Write a task whose solver replies ``candidate`` and whose refiner then replies ``good``.

    A list of candidates is replied in turn (solver, then refiner after refiner), ``good`` last:
    one orchestrator has to survive them all, one after the other.

    ``scan=False`` turns off the static scan of Python candidates, so that the runtime defences
    alone must hold. ``then_good=False``: no good reply, the run must end unsolved. ``extra``:
    more task keys (``hidden_tests``)."""
    folder.mkdir(parents=True, exist_ok=True)
    hostile = [candidate] if isinstance(candidate, str) else candidate
    if good is None:
        good = GOOD_C_MAX if language == "c" else GOOD_FIZZ.replace("\n```", FIZZ_MAIN + "```", 1)
    sandbox: dict = {"timeout_s": timeout_s or WALL[layer], "memory_mb": memory_mb}
    if "isolation" in SandboxSpec.model_fields:
        sandbox["isolation"] = layer
    elif layer != "process":
        pytest.skip(f"a task file cannot choose sandbox.isolation: {layer} yet, so the pipeline cannot run it")
    if not scan and "scan" in SandboxSpec.model_fields:
        sandbox["scan"] = False
    data = {"name": "hostile", "prompt": "Solve the task.", "language": language, "entry_point": entry_point,
            "feedback": [{"kind": "warmup"}, *feedback], "strategy": {"name": "refine", "max_turns": len(hostile) + then_good,
                                                                    "critic": False},
            "models": {"default": "scripted:script.yaml"}, "sandbox": sandbox, **(extra or {})}
    (folder / "tools").mkdir(exist_ok=True)
    shutil.copy(WARMUP, folder / "tools" / "warmup.py")
    replies = [fenced(c, language) for c in hostile] + ([good] if then_good else [])
    (folder / "script.yaml").write_text(yaml.safe_dump(replies))
    (folder / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "task.yaml"


@dataclass
class Outcome:
    """What one hostile run did, as the CLI, the reaper and the store saw it."""

    rc: int
    result: dict
    leftovers: list[dict]
    turns: list[Turn]
    stderr: str
    wall_s: float
    stray: list[str] = field(default_factory=list)
    timeout_s: float = 0.0
    replies: int = 0  # scripted candidates: the hostile ones, then the good one

    @property
    def hostile_turns(self) -> list[Turn]:
        """Every candidate turn but the last: the hostile replies (the last is the good one)."""
        return [t for t in self.turns if t.produces_candidate][:-1]

    @property
    def hostile(self) -> Turn:
        """The first candidate turn: the one the (first) hostile reply produced."""
        return next(t for t in self.turns if t.produces_candidate)

    def check(self, kind: str) -> Feedback:
        """The hostile turn's feedback of ``kind``."""
        return next(f for f in self.hostile.feedback if f.kind == kind)


def run_pipeline(task: Path, *, env: dict[str, str] | None = None, timeout: float = 180) -> Outcome:
    """``agentloop run TASK --json`` under the reaper; ``env`` adds to the CLI's environment."""
    work = task.parent
    # the CLI's TMPDIR, where the Sandbox puts its folders: fresh for the /proc scan, and directly in
    # /tmp (0711) because a fresh uid must be able to pass through every folder above its workdir
    tmp = Path(tempfile.mkdtemp(prefix="agentloop-sec-", dir="/tmp"))
    tmp.chmod(0o711)
    report, store = work / "reaper.json", work / "store.db"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("AGENTLOOP_STORE", None)
    argv = [sys.executable, str(REAPER), str(report), str(SETTLE_S), "--",
            sys.executable, "-m", "agentloop.cli", "run", str(task), "--json", "--store", str(store)]
    try:
        subprocess.run(argv, cwd=work, env=full_env, timeout=timeout, check=True)
        stray = stray_processes(tmp)
    finally:
        kill_strays(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    reaped = json.loads(report.read_text())
    stdout = Path(f"{report}.stdout").read_bytes().decode(errors="replace")
    stderr = Path(f"{report}.stderr").read_bytes().decode(errors="replace")
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"--json must print one line, got {stdout[:2000]!r}; stderr {stderr[-2000:]}"
    result = json.loads(lines[0])
    _, _, graph = load_run(result["run_id"], store=store)
    return Outcome(rc=reaped["rc"], result=result, leftovers=reaped["leftovers"], turns=graph.turns(),
                   stderr=stderr, wall_s=reaped["wall_s"], stray=stray,
                   timeout_s=yaml.safe_load(task.read_text())["sandbox"]["timeout_s"],
                   replies=len(yaml.safe_load((task.parent / "script.yaml").read_text())))


def stray_processes(root: Path, token: str | None = None) -> list[str]:
    """Processes whose cwd, command line or environment mention ``root`` (or ``token``): the
    sandbox's own folders. Catches what escaped the reaper's tree (e.g. re-parented to PID 1)."""
    return [f"{pid}: {cmdline}" for pid, cmdline in _strays(root, token).items()]


def new_descendants(before: set[int]) -> list[str]:
    """Live descendants of this process (the test) that were not there in ``before``, described.

    The zygote's spares (children it forked ahead, which have not had a job yet) are not leftovers:
    it refills its pool after every check, so new ones appear. Only the zygote's own list of them
    is excluded, never a process by its look (a candidate's process could imitate that).
    """
    now = set(live_tree(os.getpid()))
    spares = set(spare_pids())  # asked after the snapshot: a spare forked in between is not in it either
    return [f"{pid}: uid {os.stat(f'/proc/{pid}').st_uid}" for pid in now - before - spares
            if os.path.exists(f"/proc/{pid}")]


def descendants() -> set[int]:
    """Live descendants of this process now (the sandbox's warm zygote among them)."""
    return set(live_tree(os.getpid()))


def kill_strays(root: Path, token: str | None = None) -> None:
    """Kill what ``stray_processes`` finds, so that a failing test leaves nothing running."""
    for pid in _strays(root, token):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _strays(root: Path, token: str | None) -> dict[int, str]:
    marks = [str(root).encode()] + ([token.encode()] if token else [])
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            cwd = os.readlink(f"/proc/{entry}/cwd").encode()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            continue
        if any(m in cwd or m in cmdline or m in environ for m in marks):
            found[int(entry)] = cmdline[:200].replace(b"\0", b" ").decode(errors="replace")
    return found


def statuses(fb: Feedback) -> set[str]:
    """The sandbox statuses a check reported (one per execution it classified)."""
    found = {fb.details["status"]} if "status" in fb.details else set()
    found |= {case["status"] for case in fb.details.get("cases", [])}
    return found


def assert_survived(out: Outcome, *, layer: str, allowed: set[str] | None = None, executions: int = 1) -> None:
    """The run was survived (see the module docstring); ``allowed`` bounds the hostile statuses seen."""
    assert out.leftovers == [], f"processes of the run outlived it: {out.leftovers}"
    assert out.stray == [], f"processes still run in the sandbox's folders: {out.stray}"
    written = [t for t in out.turns if t.produces_candidate]
    # a hostile candidate that passes ends the run early, solved: never let it pose as the good one
    assert len(written) == out.replies, \
        f"the run stopped after {len(written)} of {out.replies} candidates: {written[-1].id} passed: " \
        f"{written[-1].candidate[:400]!r}, {[f.summary[:200] for f in written[-1].feedback]}"
    for hostile in out.hostile_turns:
        _assert_failed_in_time(out, hostile, layer, allowed, executions)
    last = [(f.kind, f.summary[:300], f.details.get("status")) for f in out.turns[-1].feedback]
    assert out.rc == 0 and out.result["status"] == "solved", \
        f"the next candidate should have passed: rc {out.rc}, its checks {last}, stderr {out.stderr[-800:]}"
    assert out.turns[-1].passed


def _assert_failed_in_time(out: Outcome, hostile: Turn, layer: str, allowed: set[str] | None, executions: int) -> None:
    which = f"hostile candidate {hostile.id} ({hostile.candidate.strip().splitlines()[0][:80]!r}...)"
    assert hostile.feedback, f"the {which} was not checked"
    assert not hostile.passed, f"the {which} PASSED: {[f.summary for f in hostile.feedback]}"
    for fb in (f for f in hostile.feedback if f.kind != "warmup"):
        # a correctness bound on the deadline, not a speed target: each execution stops at wall + 1 s
        wall = out.timeout_s
        assert fb.duration_s <= executions * (wall + 1), f"{which}: {fb.kind} took {fb.duration_s} s (wall {wall} s)"
        if "isolation" in fb.details:  # "bwrap, landlock v7, fresh uid, ..." names the layer first
            assert str(fb.details["isolation"]).split(",")[0].strip() == layer, fb.details["isolation"]
    seen = set().union(*(statuses(fb) for fb in hostile.feedback))
    if allowed is not None:
        assert seen & allowed, f"{which}: expected a status in {allowed}, saw {seen}: {[f.summary for f in hostile.feedback]}"


class Canary:
    """A file outside every sandbox whose content, mode and mtime must not change."""

    def __init__(self, path: Path, text: str = "canary: untouched\n") -> None:
        self.path = path
        path.write_text(text)
        path.chmod(0o644)
        self.text, self.stat = text, path.stat()

    def changes(self) -> list[str]:
        """What changed about the file (empty when it is intact)."""
        if not self.path.is_file():
            return ["removed or replaced"]
        st, found = self.path.stat(), []
        if self.path.read_text() != self.text:
            found.append("content")
        if st.st_mode != self.stat.st_mode:
            found.append(f"mode {oct(self.stat.st_mode & 0o7777)} -> {oct(st.st_mode & 0o7777)}")
        if st.st_mtime_ns != self.stat.st_mtime_ns:
            found.append("mtime")
        if (st.st_uid, st.st_gid) != (self.stat.st_uid, self.stat.st_gid):
            found.append("owner")
        return found
