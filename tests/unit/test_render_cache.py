"""The rendered-forecast cache stays within its byte budget, dropping the least recently used."""

from serving.render_cache import RenderCache


def key(series: str) -> tuple[str, int, tuple[float, ...], bool]:
    return (series, 7, (80.0,), False)


def test_least_recently_used_goes_first_and_the_budget_holds() -> None:
    cache = RenderCache(max_bytes=30)
    for name in ("a", "b", "c"):
        cache.put(key(name), b"x" * 10)
    assert cache.get(key("a")) == b"x" * 10  # a is now the most recent
    cache.put(key("d"), b"y" * 10)
    assert cache.get(key("b")) is None and cache.get(key("a")) is not None
    assert cache.bytes == 30 and len(cache) == 3


def test_a_value_larger_than_the_budget_or_a_zero_budget_is_not_kept() -> None:
    cache = RenderCache(max_bytes=5)
    cache.put(key("a"), b"123456")
    assert cache.get(key("a")) is None and cache.bytes == 0
    off = RenderCache(max_bytes=0)
    off.put(key("a"), b"1")
    assert len(off) == 0
