"""Hostile candidates that try to get out: writes outside the workdir, secrets from the
orchestrator's environment, and the network (a real listener on 127.0.0.1 that must stay unreached).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path

import pytest
from helpers import run_cli
from hostile_kit import FIZZ_CASES, WALL, Canary, assert_survived, hostile_task, run_pipeline

RUN = [{"kind": "run", "cases": FIZZ_CASES}]

# tries every way to change each target; reports nothing (the test looks at the files themselves)
WRITE_OUTSIDE = """
import os
TARGETS = TARGET_LIST
for path in TARGETS:
    for attempt in (lambda: open(path, "a").write("escaped\\n"), lambda: open(path, "w").write("escaped\\n"),
                    lambda: os.chmod(path, 0o777), lambda: os.utime(path, (0, 0)),
                    lambda: os.rename(path, path + ".moved"), lambda: os.remove(path)):
        try:
            attempt()
        except Exception:
            pass
for up in ("..", "../..", "../../.."):
    try:
        open(os.path.join(up, "ESCAPE_NAME"), "w").write("escaped")
    except Exception:
        pass
print("not fizz")
"""

# reads every environment it can reach: its own, each ancestor's up to PID 1, and every process's
READ_SECRETS = """
import os
NEEDLE = b"sk-canary-"
def read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
def parent(pid):
    status = read(f"/proc/{pid}/status") or b""
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith(b"PPid:")), 0)
chain, pid = [], os.getpid()
while pid > 0 and len(chain) < 64:
    pid = parent(pid)
    if pid > 0:
        chain.append(pid)
own = "".join(f"{k}={v}" for k, v in os.environ.items()).encode()
ancestors = [read(f"/proc/{p}/environ") for p in chain + [1]]
others = [read(f"/proc/{p}/environ") for p in os.listdir("/proc") if p.isdigit()]
others += [read(f"/proc/{p}/cmdline") for p in os.listdir("/proc") if p.isdigit()]
leaks = lambda blobs: sum(1 for b in blobs if b and NEEDLE in b)
print(f"scanned own=1 ancestors={len(chain)} readable={sum(b is not None for b in others)} "
      f"own_leaks={int(NEEDLE in own)} ancestor_leaks={leaks(ancestors)} other_leaks={leaks(others)}")
"""

# a real connection attempt to a listener the test runs, a bind, and connections outward
NETWORK = """
import socket
results = []
for host in ("127.0.0.1", "localhost"):
    try:
        s = socket.create_connection((host, PORT), timeout=1)
        s.sendall(b"LEAK")
        s.close()
        results.append("loopback_ok")
    except OSError as e:
        results.append("loopback_blocked")
try:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    results.append("bind_ok")
except OSError:
    results.append("bind_blocked")
for target in (("1.1.1.1", 80), ("8.8.8.8", 53)):
    try:
        socket.create_connection(target, timeout=0.5).close()
        results.append("outward_ok")
    except OSError:
        results.append("outward_blocked")
print(" ".join(results))
"""


# signals to everything it can name: its parent, PID 1, the test process, every process (-1)
SIGNALS_OUT = """
import os, signal
hits = []
for target in (os.getppid(), 1, TEST_PID, -1):
    for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM):
        try:
            os.kill(target, sig)
            hits.append(f"{target}:{sig.name}")
        except OSError:
            pass
print("not fizz", hits)
"""


@pytest.fixture
def listener():
    """A real TCP listener on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    accepted.append(conn.recv(64) or b"<connected>")
                except OSError:
                    accepted.append(b"<connected>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(5)
    server.close()


def test_writes_outside_the_workdir_change_nothing(layer, tmp_path):
    token = secrets.token_hex(6)
    in_tmp, created = Path(f"/tmp/agentloop-canary-{token}"), Path(f"/tmp/agentloop-created-{token}")
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    outside, holder = tmp_path / "canary.txt", task_dir / "notes.txt"  # holder: in the orchestrator's task folder
    targets = [str(outside), str(in_tmp), str(created), str(holder)]
    candidate = WRITE_OUTSIDE.replace("TARGET_LIST", repr(targets)).replace("ESCAPE_NAME", f"escape-{token}")
    task = hostile_task(task_dir, layer=layer, candidate=candidate, feedback=RUN)
    task_text = task.read_text()
    try:
        canaries = [Canary(outside), Canary(in_tmp), Canary(holder)]
        out = run_pipeline(task)
        assert_survived(out, layer=layer, allowed={"ok"})
        changed = {str(c.path): c.changes() for c in canaries if c.changes()}
        assert changed == {}, f"the candidate changed files outside its workdir: {changed}"
        assert not created.exists(), "the candidate created a file in /tmp"
        assert task.read_text() == task_text
        escaped = [hit for folder in (tmp_path, Path("/tmp"), Path("/")) for hit in folder.glob(f"escape-{token}")]
        escaped += list(tmp_path.rglob(f"escape-{token}"))
        assert escaped == [], f"the candidate wrote {escaped}"
    finally:
        for leftover in (in_tmp, created, Path(f"/escape-{token}"), Path(f"/tmp/escape-{token}")):
            leftover.unlink(missing_ok=True)
            Path(f"{leftover}.moved").unlink(missing_ok=True)


def test_api_keys_never_reach_the_candidate(layer, tmp_path):
    """The keys sit in the orchestrator's environment (set for the CLI only, as a user's shell would)."""
    token = secrets.token_hex(8)
    keys = {"OPENAI_API_KEY": f"sk-canary-{token}", "ANTHROPIC_API_KEY": f"sk-canary-{token}-a",
            "AGENTLOOP_TEST_TOKEN": f"sk-canary-{token}-t"}
    task = hostile_task(tmp_path / "task", layer=layer, candidate=READ_SECRETS, feedback=RUN)
    out = run_pipeline(task, env=keys)
    assert_survived(out, layer=layer, allowed={"ok"})
    got = out.check("run").details["cases"][0]["got"]
    assert "scanned own=1" in got, f"the candidate did not finish its scan: {got!r}"
    assert "own_leaks=0 ancestor_leaks=0 other_leaks=0" in got, f"a key reached the candidate: {got!r}"
    shown = run_cli("show", out.result["run_id"], "--store", str(task.parent / "store.db"), "--json", cwd=tmp_path)
    assert f"sk-canary-{token}" not in shown.stdout + out.stderr + str(out.result)


def test_network_is_unreachable(layer, tmp_path, listener):
    port, accepted = listener
    task = hostile_task(tmp_path / "task", layer=layer, candidate=NETWORK.replace("PORT", str(port)), feedback=RUN,
                        timeout_s=WALL[layer] + 1)
    out = run_pipeline(task)
    assert_survived(out, layer=layer, allowed={"ok", "timeout"})
    assert accepted == [], f"the candidate reached the test's listener on 127.0.0.1:{port}: {accepted}"
    got = out.check("run").details["cases"][0]["got"]
    assert "loopback_ok" not in got and "outward_ok" not in got, got


def test_signals_out_of_the_sandbox_reach_nothing(layer, tmp_path):
    """kill(-1, SIGKILL) and friends: the test, the orchestrator and the zygote must live on."""
    candidate = SIGNALS_OUT.replace("TEST_PID", str(os.getpid()))
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, feedback=RUN)
    out = run_pipeline(task)  # the CLI finishing, solved, is the orchestrator and zygote surviving
    assert_survived(out, layer=layer, allowed={"ok", "signal"})
