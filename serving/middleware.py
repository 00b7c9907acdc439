"""ASGI middleware: request metrics by route, and a cap on request body size."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import metrics


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ObservabilityMiddleware:
    """Counts and times every request under its route template (not the raw path)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500
        limit = self.max_body_bytes

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, f"request body over {limit} bytes")
            self._record(scope, 413, started)
            return

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            status_code = 413
            await _send_json(send, 413, f"request body over {limit} bytes")
        finally:
            self._record(scope, status_code, started)

    @staticmethod
    def _record(scope: Scope, status_code: int, started: float) -> None:
        route: Any = scope.get("route")
        template = getattr(route, "path", "unmatched")
        method = scope.get("method", "GET")
        metrics.REQUESTS.labels(route=template, method=method, status=str(status_code)).inc()
        metrics.LATENCY.labels(route=template, method=method).observe(time.perf_counter() - started)
