"""The fault server itself, checked with plain http.client and raw sockets (no agentloop, no litellm)."""

from __future__ import annotations

import http.client
import json
import math
import socket
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
from faultserver import BadJson, ContextLength, Drip, FaultServer, Ok, Oversized, Reset, Silence, Status, Truncated

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def server():
    with FaultServer() as s:
        yield s


def _port(server: FaultServer) -> int:
    return urlsplit(server.url).port


def post(server: FaultServer, body: dict = REQUEST, timeout: float = 5) -> tuple[int, dict, bytes]:
    """POST a chat completion; return (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=timeout)
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_post(server: FaultServer, body: dict = REQUEST, timeout: float = 5) -> socket.socket:
    """Send a chat-completion POST on a raw socket and return the socket, response unread."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=timeout)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
    return sock


def read_head(sock: socket.socket) -> tuple[dict, bytes]:
    """Read up to the end of the headers; return (lower-cased headers, any body bytes already read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed inside the headers: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    headers[":status"] = lines[0]
    return headers, rest


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_ok_is_a_valid_chat_completion(server):
    status, headers, body = post(server)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    data = json.loads(body)
    assert data["object"] == "chat.completion" and data["id"] and isinstance(data["created"], int)
    assert data["model"] == "m"
    assert data["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                                "finish_reason": "stop"}]
    assert data["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_ok_custom_content_and_usage(server):
    server.script(Ok("bye", prompt_tokens=3, completion_tokens=4))
    data = json.loads(post(server)[2])
    assert data["choices"][0]["message"]["content"] == "bye"
    assert data["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_status_429_sends_retry_after(server):
    server.script(Status(429, retry_after=2))
    status, headers, body = post(server)
    assert status == 429
    assert headers["retry-after"] == "2"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("code, err_code", [(500, "server_error"), (503, "server_error"),
                                            (401, "invalid_api_key"), (404, "model_not_found"),
                                            (400, "invalid_request"), (403, "permission_denied")])
def test_status_error_bodies(server, code, err_code):
    server.script(Status(code))
    status, headers, body = post(server)
    assert status == code
    assert "retry-after" not in headers
    error = json.loads(body)["error"]
    assert error["code"] == err_code and error["message"] and error["type"]


def test_status_custom_body(server):
    server.script(Status(502, body="<html>bad gateway</html>"), Status(418, body={"error": "teapot"}))
    assert post(server)[::2] == (502, b"<html>bad gateway</html>")
    assert post(server)[::2] == (418, b'{"error": "teapot"}')


def test_context_length(server):
    server.script(ContextLength())
    status, _, body = post(server)
    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert error["type"] == "invalid_request_error"
    assert "maximum context length is 4096 tokens" in error["message"]


def test_queue_order_then_default_ok(server):
    server.script(Status(500), Status(429), Ok("third"))
    assert post(server)[0] == 500
    assert post(server)[0] == 429
    assert json.loads(post(server)[2])["choices"][0]["message"]["content"] == "third"
    assert json.loads(post(server)[2])["choices"][0]["message"]["content"] == "Hello"  # queue empty
    server.script(Status(503))  # replaces, does not append
    assert post(server)[0] == 503
    assert post(server)[0] == 200


def test_script_rejects_non_behaviours(server):
    with pytest.raises(TypeError):
        server.script(Ok(), "oops")


def test_attempts_and_requests(server):
    assert server.attempts == 0 and server.requests == []
    with urllib.request.urlopen(server.url + "/models", timeout=5) as resp:
        assert json.load(resp) == {"object": "list", "data": [{"id": "fault", "object": "model"}]}
    assert server.attempts == 0  # GET /v1/models is not an attempt
    before = time.monotonic()
    post(server, {"model": "a", "messages": []})
    post(server, {"model": "b", "messages": [], "temperature": 0})
    assert server.attempts == 2
    first, second = server.requests
    assert first["model"] == "a" and second["model"] == "b" and second["temperature"] == 0
    assert before <= first["_t"] <= second["_t"] <= time.monotonic()


def test_silence_holds_and_stop_releases_it(server):
    server.script(Silence())
    sock = raw_post(server, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        sock.recv(1)
    assert time.monotonic() - start >= 0.45
    assert server.attempts == 1
    sock.settimeout(5)
    start = time.monotonic()
    server.stop()  # with the silent connection still open
    assert time.monotonic() - start < 2
    assert sock.recv(1) == b""  # released: closed without a byte of response
    sock.close()
    server.stop()  # idempotent


def test_drip_sends_one_byte_at_a_time_and_stop_interrupts(server):
    interval = 0.05
    server.script(Drip(interval=interval))
    start = time.monotonic()
    sock = raw_post(server)
    headers, body = read_head(sock)
    assert headers[":status"].startswith("HTTP/1.1 200") and int(headers["content-length"]) > 100
    while len(body) < 4:
        body += sock.recv(100)
    # byte k leaves k intervals after byte 0, which leaves after the request was sent
    assert time.monotonic() - start >= 3 * interval
    assert body[:4] == b'{"id'  # the start of a valid Ok() body
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    body += read_to_eof(sock)  # closed early, well short of the declared length
    assert len(body) < int(headers["content-length"]) // 2
    sock.close()


def test_drip_delivers_the_full_valid_body_slowly(server):
    interval, chunk = 0.05, 16
    server.script(Drip(interval=interval, chunk=chunk))
    start = time.monotonic()
    status, headers, body = post(server)
    elapsed = time.monotonic() - start
    assert status == 200 and len(body) == int(headers["content-length"])
    assert json.loads(body)["choices"][0]["message"]["content"] == "Hello"
    assert elapsed >= (math.ceil(len(body) / chunk) - 1) * interval


def test_truncated_sends_half_then_closes(server):
    server.script(Truncated(), Truncated())
    sock = raw_post(server)
    headers, rest = read_head(sock)
    body = rest + read_to_eof(sock)
    sock.close()
    declared = int(headers["content-length"])
    assert 0 < len(body) < declared and len(body) == declared // 2
    with pytest.raises(http.client.IncompleteRead):
        post(server)


def test_bad_json(server):
    server.script(BadJson())
    status, headers, body = post(server)
    assert status == 200 and len(body) == int(headers["content-length"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_oversized(server):
    server.script(Oversized(megabytes=2))
    status, headers, body = post(server)
    assert status == 200 and len(body) == int(headers["content-length"]) > 2 * 1024 * 1024
    assert json.loads(body)["choices"][0]["message"]["content"] == "x" * (2 * 1024 * 1024)


def test_reset(server):
    server.script(Reset())
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        post(server)
    assert server.attempts == 1
    assert post(server)[0] == 200  # the server carries on


def test_client_hanging_up_prints_no_traceback(server, capfd):
    server.script(Oversized(megabytes=2), Drip(interval=0.01))
    for _ in range(2):
        sock = raw_post(server)
        read_head(sock)
        sock.close()  # mid-body
    time.sleep(0.1)  # let the handlers hit the closed connection
    server.stop()
    assert capfd.readouterr().err == ""
