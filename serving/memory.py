"""Memory freed after a burst goes back to the system, so the API returns near its start size.

Large answers and report streams are built in worker threads; glibc gives each thread its own
heap arena and keeps freed memory there for reuse, so after a burst the process stays at its
peak (the review saw 546 MB "never given back"). ``malloc_trim`` releases what is free in every
arena; a daemon thread calls it every few seconds, which costs a few milliseconds when there is
little to release. On a libc without it (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("astralytiq.serving")


def _libc_function(name: str, argtypes: list[Any], restype: Any) -> Callable[..., int] | None:
    """A function of the C library (glibc's malloc_trim, mallopt); None where it has none."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = argtypes, restype
    return function  # type: ignore[no-any-return]


TRIM = _libc_function("malloc_trim", [ctypes.c_size_t], ctypes.c_int)
MALLOPT = _libc_function("mallopt", [ctypes.c_int, ctypes.c_int], ctypes.c_int)
M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_arenas(count: int) -> bool:
    """At most ``count`` heap arenas (glibc makes up to eight per core, one per busy thread, and
    their free memory stays fragmented between them); call it before threads start."""
    return bool(MALLOPT(M_ARENA_MAX, count)) if MALLOPT is not None else False


def give_back() -> bool:
    """Release the free memory of every heap arena; whether any was released."""
    return bool(TRIM(0)) if TRIM is not None else False


def keep_giving_back(interval: float, stop: threading.Event) -> None:
    """``give_back`` every ``interval`` seconds until ``stop`` is set (a daemon thread)."""
    if TRIM is None:
        log.info("no malloc_trim in this libc: freed memory stays with the process")
        return
    while not stop.wait(interval):
        give_back()
