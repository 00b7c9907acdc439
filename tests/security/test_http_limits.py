"""The server the images run (`python -m serving`: uvicorn with serving.http_protocol) bounds what
a client may hold before the app sees a request: header size, time to send the headers, time to
send the body, idle keep-alive. Raw sockets against a real process, deadlines shortened here."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import Platform
from tests.support.api_process import ApiProcess, api_process, prepare_database

HEADER_TIMEOUT, BODY_TIMEOUT, KEEPALIVE = 1.0, 1.5, 1.0
MAX_HEADER = 16 * 1024


@pytest.fixture(scope="module")
def server(platform_env: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    data_dir: Path = tmp_path_factory.mktemp("http-limits")
    prepare_database(data_dir)
    limits = {
        "ASTRALYTIQ_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "ASTRALYTIQ_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "ASTRALYTIQ_HTTP_KEEPALIVE_SECONDS": str(KEEPALIVE),
        "ASTRALYTIQ_HTTP_MAX_HEADER_BYTES": str(MAX_HEADER),
    }
    with api_process(platform_env, data_dir, limits) as api:
        yield api


def connect(server: ApiProcess) -> socket.socket:
    url = urlparse(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=15)
    return sock


def one_response(sock: socket.socket) -> bytes:
    """One whole response on a kept-alive connection (its head, then Content-Length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (at most 15 s)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_headers_over_the_limit_are_431_and_the_connection_closes(server: ApiProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 * MAX_HEADER) + b"\r\n\r\n")
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431"), reply[:200]
    assert b"ASTRALYTIQ_HTTP_MAX_HEADER_BYTES" in reply


def test_an_endless_header_is_cut_off_after_the_limit_not_buffered(server: ApiProcess) -> None:
    """16 MB of one header, never finished: the server stops reading long before the end."""
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: ")
        block = b"a" * 65536
        try:
            while sent < 16 * 2**20:
                sock.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = answer(sock)
    assert sent < 4 * 2**20, f"the server read {sent} bytes of one header"
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:200]


def test_a_connection_that_says_nothing_is_closed(server: ApiProcess) -> None:
    started = time.monotonic()
    with connect(server) as sock:
        assert answer(sock) == b""
    assert time.monotonic() - started < HEADER_TIMEOUT + 5


def test_headers_sent_a_line_at_a_time_get_408(server: ApiProcess) -> None:
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        try:
            for _ in range(40):  # 12 s of dripping, far past the deadline
                time.sleep(0.3)
                sock.sendall(b"X-Slow: 1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"ASTRALYTIQ_HTTP_HEADER_TIMEOUT_SECONDS" in reply
    assert time.monotonic() - started < HEADER_TIMEOUT + 6


def test_a_body_sent_a_byte_at_a_time_gets_408(server: ApiProcess) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /v1/models/any/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{"
        )
        try:
            for _ in range(40):
                time.sleep(0.3)
                sock.sendall(b" ")
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"ASTRALYTIQ_HTTP_BODY_TIMEOUT_SECONDS" in reply


def test_an_idle_keep_alive_connection_is_closed_and_a_prompt_one_is_served(server: ApiProcess) -> None:
    with connect(server) as sock:
        for _ in range(2):  # two requests on one connection, each promptly
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert one_response(sock).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert answer(sock) == b""  # then idle: closed by the server
        assert time.monotonic() - started < KEEPALIVE + 5
    body = b'{"username": "x"}'
    with connect(server) as sock:  # a body that arrives in time reaches the app
        sock.sendall(
            b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        assert one_response(sock).startswith(b"HTTP/1.1 422")
