"""Large answers are rendered off the event loop, a few at a time, and past the queue the caller
is told to retry; small ones stay on the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from serving.rendering import INLINE_VALUES, Renderer, RendererBusy


def test_small_answers_render_on_the_loop_and_large_ones_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()

    async def main() -> tuple[int, int]:
        renderer = Renderer(concurrency=2, queue=2)
        small = await renderer.render(INLINE_VALUES, threading.get_ident)
        large = await renderer.render(INLINE_VALUES + 1, threading.get_ident)
        return small, large

    small, large = asyncio.run(main())
    assert small == loop_thread and large != loop_thread


def test_at_most_concurrency_render_at_once_and_the_rest_wait_or_are_refused() -> None:
    running, peak = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def work() -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(10)
        with lock:
            running -= 1
        return 1

    async def main() -> list[object]:
        renderer = Renderer(concurrency=2, queue=3)
        tasks = [asyncio.ensure_future(renderer.render(10**6, work)) for _ in range(5)]
        await asyncio.sleep(0.2)  # two render, three wait
        with pytest.raises(RendererBusy, match="2 large answers are being rendered and 3 are waiting"):
            await renderer.render(10**6, work)
        assert await renderer.render(10, lambda: "small") == "small"  # small ones are never queued
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [1] * 5
    assert peak == 2
