"""The one ASGI layer in front of the routes: the client's address behind a trusted proxy, the
shutdown drain, a streamed cap on body size, the security headers, and request metrics by route
template. One layer, not one per concern: each layer costs every request a call and a closure.

The cap counts bytes as they arrive, so an oversized body is refused after at most the limit
has been read, whatever its declared (or missing) Content-Length: no memory spike.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import metrics, security_headers
from serving.forwarded import Network, client_address

# Set when the process has been told to stop (SIGTERM): for a short drain period new requests
# are answered 503 (and /readyz fails, so a load balancer stops routing here) while requests
# already in flight finish; then the server itself shuts down. See serving/__main__.py.
SHUTTING_DOWN = threading.Event()
LIVENESS_PATHS = ("/healthz", "/metrics")


class BodyTooLarge(Exception):
    pass


async def _send_json(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read, so this connection cannot carry another request.
                *security_headers.add_to([(b"connection", b"close"), *(extra or [])], ""),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    """Every HTTP request passes here once: the client's address (``serving.forwarded``), 503
    while draining, 413 past the body limit, security headers on the answer, and a count and a
    time under the route template (not the raw path)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, trusted: Sequence[Network] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.trusted = tuple(trusted)

    def _too_large(self) -> str:
        return (
            f"request body over {self.max_body_bytes} bytes (ASTRALYTIQ_MAX_REQUEST_BYTES); "
            "send fewer series per call"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        limit = self.max_body_bytes
        if SHUTTING_DOWN.is_set() and scope["path"] not in LIVENESS_PATHS:
            await _send_json(
                send,
                503,
                "this API process is shutting down; retry (another instance will answer)",
                [(b"retry-after", b"1")],
            )
            self._record(scope, 503, started)
            return

        declared: bytes | None = None
        forwarded: list[str] = []
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
        client = scope.get("client")
        if forwarded and client and self.trusted:
            address = client_address(client[0], ",".join(forwarded), self.trusted)
            if address != client[0]:
                # The proxy's port says nothing about the client's; 0 means unknown.
                scope = {**scope, "client": (address, 0)}

        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if declared.isdigit():
                await _send_json(send, 413, self._too_large())
                self._record(scope, 413, started)
            else:
                await _send_json(send, 400, "the Content-Length header is not a whole number")
                self._record(scope, 400, started)
            return

        received = 0
        too_large = False
        responded = False
        status_code = 500
        path = scope["path"]

        async def capped_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status_code, responded
            if too_large:
                return  # the app's answer to a body it could not read; ours is the 413 below
            if message["type"] == "http.response.start":
                status_code, responded = message["status"], True
                message["headers"] = security_headers.add_to(list(message.get("headers", ())), path)
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not too_large:  # FastAPI may wrap our exception in its own; only ours is expected
                self._record(scope, 500, started)
                raise
        if too_large and not responded:
            status_code = 413
            await _send_json(send, 413, self._too_large())
        self._record(scope, status_code, started)

    @staticmethod
    def _record(scope: Scope, status_code: int, started: float) -> None:
        route: Any = scope.get("route")
        metrics.record_request(
            getattr(route, "path", "unmatched"),
            scope.get("method", "GET"),
            status_code,
            time.perf_counter() - started,
        )
