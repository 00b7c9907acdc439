"""A bounded LRU of rendered series forecasts, owned by one served model version."""

from __future__ import annotations

import threading
from collections import OrderedDict

CacheKey = tuple[str, int, tuple[float, ...], bool]  # series, horizon, levels, with history


class RenderCache:
    """Rendered series forecasts of one model version, least recently used out first.

    Large answers are rendered in worker threads (serving.rendering) while small ones are
    rendered on the event loop, so every access holds a lock (uncontended, it costs ~0.1 µs)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def get_many(self, keys: list[CacheKey]) -> list[bytes | None]:
        """``get`` of each key, under one hold of the lock (a request asks for all its series)."""
        items = self._items
        with self._lock:
            found = [items.get(key) for key in keys]
            for key, value in zip(keys, found, strict=True):
                if value is not None:
                    items.move_to_end(key)
        return found

    def put(self, key: CacheKey, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.bytes += len(value)
            while self.bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self.bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)
