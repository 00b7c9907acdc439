"""Reports (Evidently HTML, GX Data Docs) are streamed, a few at a time, at a bounded rate.

A report is megabytes. Read whole, sixteen readers held half a gigabyte; streamed as fast as a
client reads, a few readers in a loop still took a core from the forecasts (190 MB/s over
loopback in benchmarks/abuse.py). So at most ``limit`` reports stream at once
(``ASTRALYTIQ_REPORT_STREAMS``; another reader gets 503 with Retry-After), each at most
``bytes_per_second`` (``ASTRALYTIQ_REPORT_STREAM_BYTES_PER_SECOND``: a 5 MB report in about a
second). Reports are read in 256 KiB chunks: fewer thread hops than Starlette's 64 KiB.
"""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

CHUNK_BYTES = 256 * 1024


class ReportFile(FileResponse):
    chunk_size = CHUNK_BYTES


class ReportStreams:
    """How many report answers are being sent; ``limited`` wraps one so that it counts."""

    def __init__(self, limit: int, bytes_per_second: float) -> None:
        self.limit = limit
        self.bytes_per_second = bytes_per_second
        self.open = 0

    @property
    def busy(self) -> bool:
        return self.open >= self.limit

    def refusal(self) -> str:
        return f"{self.limit} reports are being sent (ASTRALYTIQ_REPORT_STREAMS); retry in a second"

    def limited(self, response: Response) -> Response:
        return _Limited(response, self)


async def free_stream(request: Request) -> None:
    """A route dependency, declared first: while every stream is taken, refuse before any other
    work (no database session, no worker thread). The slot itself is taken when sending starts."""
    streams: ReportStreams = request.app.state.report_streams
    if streams.busy:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=streams.refusal(), headers={"Retry-After": "1"}
        )


FreeStream = Depends(free_stream)


class _Limited(Response):
    """``inner`` if a stream slot is free when sending starts, else a 503 (JSON, Retry-After)."""

    def __init__(self, inner: Response, streams: ReportStreams) -> None:  # no super(): a wrapper
        self.inner, self.streams = inner, streams
        self.background: BackgroundTask | None = None
        self.status_code = inner.status_code
        self.raw_headers = inner.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.streams.busy:  # taken since the route checked
            busy = Response(
                json.dumps({"detail": self.streams.refusal()}),
                status_code=503,
                media_type="application/json",
                headers={"Retry-After": "1"},
            )
            await busy(scope, receive, send)
            return
        self.streams.open += 1
        started, sent = time.monotonic(), 0
        rate = self.streams.bytes_per_second

        async def paced(message: Message) -> None:
            nonlocal sent
            await send(message)
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)

        try:
            await self.inner(scope, receive, paced)
        finally:
            self.streams.open -= 1
