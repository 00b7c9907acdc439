"""Parse and smoke-test a downloaded bundle in a child process; the API receives a compact copy.

Parsing a bundle's JSON makes one string object per date of every series (most of them
repeats) and leaves the heap fragmented for good: a 1,000-series model would hold ~16 MB of
the API's memory. The child parses, checks every series, shares repeated strings and hands
back a pickle (about 6 MB once loaded); the API also keeps answering meanwhile, since the
parse does not hold its interpreter lock. Only the bundle's own classes may be unpickled.

Run by the API as ``python -m serving.bundle_loader NAME VERSION < bundle.json``.
"""

from __future__ import annotations

import dataclasses
import io
import math
import pickle
import subprocess
import sys
from typing import Any

from models.bundle import ForecastBundle

INVALID_EXIT = 3  # the bundle is bad: retrying the same bytes cannot help
SMOKE_CHUNK = 64  # series per smoke-test call: bounds the memory of checking a big model
ALLOWED_CLASSES = {("models.bundle", "ForecastBundle"), ("models.bundle", "SeriesForecast")}


class InvalidBundle(ValueError):
    pass


class LoaderFailed(RuntimeError):
    """The child process could not finish (killed, out of memory, timed out)."""


def smoke_test(bundle: ForecastBundle, name: str, version: str, series_ids: list[str] | None = None) -> None:
    """Every series (or ``series_ids``) at the longest horizon: finite, yhat inside its 95% band."""
    if bundle.model_name != name:
        raise InvalidBundle(f"bundle of {name} v{version} is for model {bundle.model_name!r}")
    if not bundle.series:
        raise InvalidBundle(f"{name} v{version} has no series")
    if not isinstance(bundle.max_horizon, int) or bundle.max_horizon < 1:
        raise InvalidBundle(f"{name} v{version} has max_horizon {bundle.max_horizon!r}")
    ids = series_ids if series_ids is not None else list(bundle.series)
    for start in range(0, len(ids), SMOKE_CHUNK):
        chunk = ids[start : start + SMOKE_CHUNK]
        rows = bundle.forecast(chunk, bundle.max_horizon, [95.0])
        if len(rows) != len(chunk) * bundle.max_horizon:
            raise InvalidBundle(f"{name} v{version} returned {len(rows)} rows for {len(chunk)} series")
        for row in rows:
            yhat, lower, upper = row["yhat"], row["yhat_lower_95"], row["yhat_upper_95"]
            if not (math.isfinite(yhat) and math.isfinite(lower) and math.isfinite(upper)):
                raise InvalidBundle(f"{name} v{version} forecasts non-finite values for {row['series_id']!r}")
            if not lower <= yhat <= upper:
                raise InvalidBundle(f"{name} v{version}: yhat outside its interval for {row['series_id']!r}")


def compact(bundle: ForecastBundle) -> ForecastBundle:
    """The same bundle with one copy of each repeated string and of each repeated list of them
    (series trained to one cutoff share their forecast and history dates). Generic over the
    series' fields, so a new field in the bundle format is carried over unchanged."""
    shared: dict[tuple[str, ...], list[str]] = {}

    def one(value: Any) -> Any:
        if isinstance(value, str):
            return sys.intern(value)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return shared.setdefault(tuple(value), [sys.intern(v) for v in value])
        return value

    series = {
        sys.intern(key): dataclasses.replace(
            entry, **{f.name: one(getattr(entry, f.name)) for f in dataclasses.fields(entry) if f.init}
        )
        for key, entry in bundle.series.items()
    }
    return dataclasses.replace(bundle, series=series)


class _BundleUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a forecast bundle")
        return super().find_class(module, name)


def load(payload: bytes, name: str, version: str, timeout: float = 600) -> ForecastBundle:
    """Parse, check and compact ``payload`` in a child process; raises InvalidBundle or LoaderFailed."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "serving.bundle_loader", name, version],
            input=payload,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LoaderFailed(f"parsing {name} v{version} took over {timeout:.0f}s") from None
    except OSError as exc:
        raise LoaderFailed(f"cannot start the bundle loader: {exc}") from None
    message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if done.returncode == INVALID_EXIT:
        raise InvalidBundle(message[0])
    if done.returncode != 0:
        raise LoaderFailed(f"bundle loader exited with {done.returncode}: {message[0]}")
    bundle = _BundleUnpickler(io.BytesIO(done.stdout)).load()
    if not isinstance(bundle, ForecastBundle):
        raise LoaderFailed(f"bundle loader returned {type(bundle).__name__}")
    return bundle


def main(argv: list[str]) -> int:
    name, version = argv
    try:
        bundle = ForecastBundle.from_json(sys.stdin.buffer.read())
        smoke_test(bundle, name, version)
        bundle = compact(bundle)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # Whatever the bundle's defect, it is reported in one line to the API's log.
        print(f"{name} v{version} is not servable: {exc!r}"[:500], file=sys.stderr)
        return INVALID_EXIT
    sys.stdout.buffer.write(pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
