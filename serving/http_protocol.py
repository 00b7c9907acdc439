"""uvicorn's HTTP protocol (httptools) with the limits it lacks: header size and read deadlines.

uvicorn closes idle keep-alive connections, but nothing bounds a request while it arrives:
httptools buffers a header of any size (an 8 MB header got a 200), a connection that sends
nothing, or a header line a second, or a body a byte a second, stays open for ever (the ASGI app
only sees a request once its headers are complete, so middleware cannot help). uvicorn's h11
mode has a header size cap but no deadline either and serves a third fewer requests per second
(``benchmarks/results/http_server.md``). So the protocol is subclassed here, as
xorbitsai/inference#5213 does:

- the request line and headers may take ``max_header_bytes``; past that: 431, connection closed;
- they must arrive within ``header_timeout`` of the connection opening or of the request's first
  byte (a silent or dripping client is closed; one that sent part of a request gets 408);
- the body must arrive within ``body_timeout`` of the headers: 408, connection closed.

The limits come from the settings (``ASTRALYTIQ_HTTP_*``), read once per process, so worker
processes started by uvicorn apply the same ones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int
    header_timeout: float
    body_timeout: float


@lru_cache(maxsize=1)
def limits() -> HttpLimits:
    from astralytiq.settings import get_settings

    settings = get_settings()
    return HttpLimits(
        settings.http_max_header_bytes,
        settings.http_header_timeout_seconds,
        settings.http_body_timeout_seconds,
    )


def _plain_response(status: bytes, message: str) -> bytes:
    body = message.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


HEADERS_TOO_LARGE = "request line and headers over {} bytes (ASTRALYTIQ_HTTP_MAX_HEADER_BYTES)"
HEADERS_TOO_SLOW = "request headers not received within {:g} s (ASTRALYTIQ_HTTP_HEADER_TIMEOUT_SECONDS)"
BODY_TOO_SLOW = "request body not received within {:g} s (ASTRALYTIQ_HTTP_BODY_TIMEOUT_SECONDS)"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header size cap and header and body read deadlines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits()
        self._reading_head = True  # between a request's first byte (or the connection) and its headers
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._any_bytes = False
        self._refused = False  # answered 431: nothing more of this connection is parsed

    # Deadlines ---------------------------------------------------------------------------------
    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status: bytes, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            if self.cycle.response_started:  # an answer is under way: it cannot be replaced
                self.transport.close()
                return
            self.cycle.disconnected = True  # the app's own answer, if any, is dropped
        self.transport.write(_plain_response(status, message))
        self.transport.close()

    def _head_timed_out(self) -> None:
        self._deadline = None
        if not self._any_bytes:  # a connection that never said anything: just close it
            self.transport.close()
            return
        self._refuse(b"408 Request Timeout", HEADERS_TOO_SLOW.format(self.limits.header_timeout))

    def _body_timed_out(self) -> None:
        self._deadline = None
        self._refuse(b"408 Request Timeout", BODY_TOO_SLOW.format(self.limits.body_timeout))

    # Protocol ------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._any_bytes = True
            self._head_bytes += len(data)
        if self._refused:
            return
        super().data_received(data)
        # Still without complete headers after this chunk: every byte since the request began
        # was request line and headers (httptools would buffer any amount of them).
        if self._reading_head and self._head_bytes > self.limits.max_header_bytes:
            self._headers_too_large()

    def _headers_too_large(self) -> None:
        self._refused = True
        self._refuse(
            b"431 Request Header Fields Too Large", HEADERS_TOO_LARGE.format(self.limits.max_header_bytes)
        )

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._any_bytes = True
        if self._deadline is None:  # a keep-alive connection's next request: its own deadline
            self._arm(self.limits.header_timeout, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = 0
        self._disarm()
        # Headers that arrived whole in one read: measured here, before the app sees them; what
        # the parser still finds in this read (a body, more requests) is then ignored.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._headers_too_large()
            return
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body and _has_body(self.headers):
            self._arm(self.limits.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._reading_head = True
        super().on_message_complete()


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False
