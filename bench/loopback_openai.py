"""A loopback OpenAI-compatible chat server that answers every request after a fixed delay.

``POST /v1/chat/completions`` waits ``delay_s`` (on its own thread, so concurrent requests wait
together, as a remote API serving a batch would) and returns a ``chat.completion`` whose content
is one fenced Python block, framed with DSPy's field markers so DSPy's ChatAdapter parses it in
one call as well. ``GET /stats`` returns how many completions were served. Standard library only;
listens on 127.0.0.1 only; HTTP/1.1 keep-alive.

Run it in its own process (``ServerProcess``), as a remote API would be: in the benchmark's
process its threads would take the GIL from the client being measured.

    python bench/loopback_openai.py --delay 0.2     # prints the port, serves until stdin closes
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

REPLY = ("[[ ## code ## ]]\n```python\ndef add(a, b):\n    return a + b\n```\n\n[[ ## completed ## ]]")
MAX_BODY = 1 << 20  # requests are chat prompts; anything larger is refused


class LoopbackOpenAI:
    """The server, on a free port of 127.0.0.1, serving from a background thread until closed."""

    def __init__(self, *, delay_s: float = 0.2) -> None:
        self.delay_s = delay_s
        self.requests = 0  # chat completions served, for the benchmark's sanity checks
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback-openai", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``…/v1``)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def served(self) -> None:
        """Count one answered request."""
        with self._lock:
            self.requests += 1


def _handler(server: LoopbackOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connections, as with a real API

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/stats"):
                self._send(200, {"requests": server.requests})
            else:
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not self.path.endswith("/chat/completions") or length > MAX_BODY:
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "the body is not JSON", "type": "invalid_request_error"}})
                return
            time.sleep(server.delay_s)
            server.served()
            self._send(200, {
                "id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion", "created": int(time.time()),
                "model": request.get("model", "x") if isinstance(request, dict) else "x",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": REPLY}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}})

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:  # quiet: the benchmark prints its own figures
            pass

    return Handler


class ServerProcess:
    """``LoopbackOpenAI`` in a child process; ``requests()`` asks it how many calls it served."""

    def __init__(self, *, delay_s: float = 0.2) -> None:
        self._argv = [sys.executable, __file__, "--delay", str(delay_s)]
        self._proc: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port = self._proc.stdout.readline().strip()
        if not port.isdigit():
            self.__exit__()
            raise RuntimeError("the loopback server did not start")
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.stdin.close()  # the server's cue to stop
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def requests(self) -> int:
        """Chat completions served so far."""
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as reply:
            return json.load(reply)["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before each reply")
    args = parser.parse_args()
    with LoopbackOpenAI(delay_s=args.delay) as server:
        print(server.base_url.rsplit(":", 1)[1].split("/")[0], flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin (or exits)


if __name__ == "__main__":
    main()
