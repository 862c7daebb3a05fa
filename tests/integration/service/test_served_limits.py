"""The limits and headers through a real ``caldicott serve`` (uvicorn, real sockets):
refusals are answered before the body is read, and the client carries on afterwards."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from tests.integration.service.serving import Served


def _raw(served: Served, request: bytes) -> bytes:
    address = urlsplit(served.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        answer = sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:  # the head and the body may come in separate reads
            more = sock.recv(65536)
            if not more:
                break
            body += more
        return head + b"\r\n\r\n" + body


def test_a_declared_gigabyte_is_refused_before_a_byte_of_it_is_sent(served: Served) -> None:
    answer = _raw(served, b"POST /api/trace-requests HTTP/1.1\r\nHost: caldicott\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"larger than 1,048,576 bytes" in answer


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_counted(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"family_name": "'
        for _ in range(3):
            yield b"x" * 400_000
        yield b'"}'

    with httpx.Client(base_url=served.url, timeout=30) as client:
        reply = client.post("/api/trace-requests", content=chunks(),
                            headers={"Content-Type": "application/json"})
        assert reply.status_code == 413
        assert client.get("/healthz").status_code == 200


def test_bad_json_is_a_422_and_the_same_connection_carries_on(served: Served) -> None:
    bodies = [b"[" * 50_000 + b"]" * 50_000, b'{"requests": [{"family_name": "\\ud800"}]}',
              b'{"requests": [{"purpose": "a\\u0000b"}]}']
    with httpx.Client(base_url=served.url, timeout=30, headers=served.auth("officer")) as client:
        for body in bodies:
            reply = client.post("/api/trace-requests/batch", content=body,
                                headers={"Content-Type": "application/json"})
            assert reply.status_code == 422, reply.text
            assert reply.headers.get("connection", "") != "close"
            assert client.get("/api/trace-requests").status_code == 200


def test_hsts_when_a_trusted_proxy_says_the_request_came_over_https(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        plain = client.get("/healthz")
        proxied = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["cache-control"] == "no-store"
