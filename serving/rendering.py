"""Large forecast answers are rendered off the event loop, a few at a time.

Rendering is CPU work in Python: a batch of a thousand series with history takes a large
fraction of a second. Done on the event loop it stalls every other request, /healthz included;
done in unbounded threads it multiplies memory. So an answer of more than ``INLINE_VALUES``
numbers is rendered in a worker thread, at most ``concurrency`` at once, and at most ``queue``
more wait for a turn; past that the API answers 503 with Retry-After (the client retries, the
process keeps its memory). Small answers, the common case, stay on the loop: a thread hop would
cost them more than it saves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

# About a millisecond of rendering: cheaper on the loop than the thread hop (the README's
# 10-series, 28-step, two-level request is 1,400 numbers).
INLINE_VALUES = 5_000


class RendererBusy(RuntimeError):
    """Every renderer is busy and the queue is full; the client should retry shortly."""


class Renderer:
    def __init__(self, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.capacity = concurrency + queue
        self._slots = asyncio.Semaphore(concurrency)
        self._admitted = 0  # rendering or waiting

    async def render(self, values: int, work: Callable[[], T]) -> T:
        """``work()``'s result: on the loop if ``values`` is small, else in a worker thread."""
        if values <= INLINE_VALUES:
            return work()
        if self._admitted >= self.capacity:
            raise RendererBusy(
                f"{self.concurrency} large answers are being rendered and {self.capacity - self.concurrency} "
                "are waiting; retry in a second"
            )
        self._admitted += 1
        try:
            async with self._slots:
                return await run_in_threadpool(work)
        finally:
            self._admitted -= 1
