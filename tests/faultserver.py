"""A fault-injecting OpenAI-compatible HTTP server for testing an LLM client's retry and deadline logic.

Each ``POST /v1/chat/completions`` consumes the next behaviour given to ``script()`` (``Ok()`` once the
queue is empty). Standard library only. Every response carries ``Connection: close``, so each attempt
is a fresh connection and ``attempts`` counts retries exactly.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FaultServer", "Ok", "Status", "ContextLength", "Silence", "Drip", "Truncated", "BadJson",
           "Oversized", "Reset"]

# Errors a handler meets when the client goes away mid-response; swallowed, never printed.
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass(frozen=True)
class Ok:
    """200 with a valid ``chat.completion`` whose message content is ``content``."""
    content: str = "Hello"
    prompt_tokens: int = 10
    completion_tokens: int = 5
    # per token: (its logprob, the top-k logprobs), sent as OpenAI's choices[0].logprobs.content
    logprobs: tuple[tuple[float, tuple[float, ...]], ...] | None = None


@dataclass(frozen=True)
class Status:
    """That HTTP status, an OpenAI-style error body (or ``body``), and ``Retry-After`` when given."""
    code: int
    retry_after: float | int | str | None = None
    body: dict | str | bytes | None = None


@dataclass(frozen=True)
class ContextLength:
    """400 ``context_length_exceeded``, exactly as OpenAI words it."""


@dataclass(frozen=True)
class Silence:
    """Read the request, then send nothing and hold the connection open until the server stops."""


@dataclass(frozen=True)
class Drip:
    """200 with the full Content-Length of an ``Ok()`` body, then the body ``chunk`` bytes (default one)
    every ``interval`` s; a larger chunk lets a test see the whole body arrive in reasonable time."""
    interval: float = 0.5
    chunk: int = 1


@dataclass(frozen=True)
class Truncated:
    """200 declaring the full Content-Length of an ``Ok()`` body, but only its first half, then close."""


@dataclass(frozen=True)
class BadJson:
    """200 with a correct Content-Length and a body that is not valid JSON."""


@dataclass(frozen=True)
class Oversized:
    """200 with a valid ``chat.completion`` whose content is ``megabytes`` MiB of ``'x'``."""
    megabytes: int = 20


@dataclass(frozen=True)
class Reset:
    """Read the request, then close abruptly (SO_LINGER 0) so the client sees a connection reset."""


_BEHAVIOURS = (Ok, Status, ContextLength, Silence, Drip, Truncated, BadJson, Oversized, Reset)
BAD_JSON = b'{"id": "x", "choices": ['
CONTEXT_LENGTH_ERROR = {"error": {
    "message": "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens. "
               "Please reduce the length of the messages.",
    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
MODELS = {"object": "list", "data": [{"id": "fault", "object": "model"}]}

_ERRORS = {  # status -> (message, type, code), worded as OpenAI does
    400: ("Invalid request.", "invalid_request_error", "invalid_request"),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource.", "permission_error", "permission_denied"),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
}


def error_body(code: int) -> dict:
    """The OpenAI-style error JSON that ``Status(code)`` sends when no body is given."""
    server = ("The server had an error while processing your request. Sorry about that!", "server_error",
              "server_error")
    message, kind, err_code = _ERRORS.get(code, server if code >= 500 else (f"HTTP {code}", "error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": err_code}}


def completion(model: str, content: str = "Hello", prompt_tokens: int = 10, completion_tokens: int = 5,
               logprobs: tuple | None = None) -> bytes:
    """A valid ``chat.completion`` JSON body, encoded."""
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {"content": [
            {"token": f"t{i}", "logprob": lp, "bytes": None,
             "top_logprobs": [{"token": f"t{i}.{j}", "logprob": x, "bytes": None} for j, x in enumerate(top)]}
            for i, (lp, top) in enumerate(logprobs)]}
    return json.dumps({
        "id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # `format` shadows the builtin: it is the base class's parameter name
        pass  # keep test output clean

    def do_GET(self) -> None:
        found = self.path.rstrip("/") == "/v1/models"
        self._reply(200 if found else 404, json.dumps(MODELS if found else error_body(404)).encode())

    def do_POST(self) -> None:
        arrived = time.monotonic()
        # Read the whole body first so every behaviour, Reset and Silence included, starts from a
        # fully received request (and Reset's RST is not caused by unread input instead).
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._reply(404, json.dumps(error_body(404)).encode())
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}  # still an attempt; keep what came
        body = body if isinstance(body, dict) else {"_body": body}
        behaviour = self.server.fault._record(body, arrived)
        try:
            self._act(behaviour, str(body.get("model") or "fault"))
        except _CLIENT_GONE:
            self.close_connection = True

    def _act(self, b: object, model: str) -> None:
        self.close_connection = True  # one request per connection, whatever happens
        stopping = self.server.fault._stopping
        if isinstance(b, Ok):
            self._reply(200, completion(model, b.content, b.prompt_tokens, b.completion_tokens, b.logprobs))
        elif isinstance(b, Status):
            body = b.body if b.body is not None else error_body(b.code)
            body = json.dumps(body).encode() if isinstance(body, dict) else body
            extra = {"Retry-After": str(b.retry_after)} if b.retry_after is not None else {}
            self._reply(b.code, body.encode() if isinstance(body, str) else body, extra)
        elif isinstance(b, ContextLength):
            self._reply(400, json.dumps(CONTEXT_LENGTH_ERROR).encode())
        elif isinstance(b, Silence):
            stopping.wait()  # an Event, not a sleep, so stop() releases it at once
        elif isinstance(b, Drip):
            body = completion(model)
            self._headers(200, len(body))
            step = max(1, b.chunk)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])  # the writer is unbuffered: one send per chunk
                if i + step < len(body) and stopping.wait(b.interval):
                    return  # the server is stopping
        elif isinstance(b, Truncated):
            body = completion(model)
            self._headers(200, len(body))
            self.wfile.write(body[: len(body) // 2])
        elif isinstance(b, BadJson):
            self._reply(200, BAD_JSON)
        elif isinstance(b, Oversized):
            self._reply(200, completion(model, "x" * (b.megabytes * 1024 * 1024)))
        elif isinstance(b, Reset):
            # rfile holds a reference to the socket (makefile), so close it first or close() is deferred.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()

    def _headers(self, code: int, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _reply(self, code: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self._headers(code, len(body), extra)
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fault: FaultServer

    def process_request(self, request: Any, client_address: Any) -> None:
        # Register the connection here, in the accepting thread, so stop() can never miss one.
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self.fault._lock:
            self.fault._conns[request] = t
        t.start()

    def shutdown_request(self, request: Any) -> None:
        with self.fault._lock:
            self.fault._conns.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up, or stop() shutting a socket under a handler, is expected, not an error.
        if not isinstance(sys.exc_info()[1], _CLIENT_GONE + (OSError,)):
            super().handle_error(request, client_address)


class FaultServer:
    """A scripted OpenAI-compatible server on 127.0.0.1 (a free port), served from a daemon thread.

    ``url`` holds the base URL once started; ``GET /v1/models`` answers too but is not an attempt.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[object] = deque()
        self._requests: list[dict] = []
        self._conns: dict[Any, threading.Thread] = {}
        self._running: tuple[_Server, threading.Thread] | None = None
        self._stopping = threading.Event()
        self.url = ""  # the base URL, once started

    def start(self) -> str:
        """Start serving; return the base URL ``http://127.0.0.1:PORT/v1``."""
        if self._running is not None:
            raise RuntimeError("FaultServer already started")
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fault = self
        # A short poll interval keeps shutdown() (and so stop()) quick.
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                  name="faultserver", daemon=True)
        thread.start()
        self._running = (httpd, thread)
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return self.url

    def stop(self) -> None:
        """Shut down, release held (Silence/Drip) connections, and join the threads; idempotent."""
        if self._running is None:
            return
        (httpd, thread), self._running = self._running, None
        self._stopping.set()  # wakes Silence and Drip handlers
        httpd.shutdown()     # no more accepts after this returns
        with self._lock:
            conns = dict(self._conns)
        for sock in conns:   # unblock any handler still reading or writing
            with contextlib.suppress(OSError):  # already closed (Reset) or gone
                sock.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        thread.join(timeout=2)
        deadline = time.monotonic() + 2
        for t in conns.values():
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *behaviours: object) -> None:
        """Replace the queue: each chat-completion POST consumes the next behaviour, then ``Ok()``."""
        for b in behaviours:
            if not isinstance(b, _BEHAVIOURS):
                raise TypeError(f"not a behaviour: {b!r}")
        with self._lock:
            self._queue = deque(behaviours)

    def _record(self, body: dict, arrived: float) -> object:
        """Count one chat-completion attempt, stamp its body with ``_t``, and return its behaviour."""
        with self._lock:
            self._requests.append({**body, "_t": arrived})
            return self._queue.popleft() if self._queue else Ok()

    @property
    def attempts(self) -> int:
        """How many ``POST /v1/chat/completions`` requests have arrived so far."""
        with self._lock:
            return len(self._requests)

    @property
    def requests(self) -> list[dict]:
        """A snapshot of the parsed JSON bodies of those requests, in order, each with ``_t`` (monotonic)."""
        with self._lock:
            return list(self._requests)
