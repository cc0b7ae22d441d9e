"""A keyless OpenAI-compatible server (llama.cpp's, vLLM, Ollama) works from the CLI as the docs write its URI."""

from __future__ import annotations

import pytest
from faultserver import FaultServer, Ok
from helpers import GOOD_FIZZ, cli_json, run_cli

pytest.importorskip("litellm", reason="needs agentloop[remote]")


def test_a_task_runs_against_a_local_server_without_any_api_key(make_task, tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)  # run_cli's subprocess inherits this environment
    with FaultServer() as server:
        server.script(Ok(content=GOOD_FIZZ))
        uri = f"litellm:openai/local-model?api_base={server.url}"  # exactly the documented form: no api_key
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
        proc = run_cli("run", str(make_task()), "--model", uri, "--json", cwd=tmp_path)
        attempts = server.attempts
    assert proc.returncode == 0, proc.stderr
    out = cli_json(proc)
    assert out["status"] == "solved" and out["turns"] == 1 and attempts == 1
    assert "credentials" not in proc.stderr.lower()
