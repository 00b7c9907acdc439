"""The bundle loader: a child process parses, checks and compacts; only bundle classes unpickle."""

from __future__ import annotations

import io
import math
import pickle

import pytest

from models.bundle import ForecastBundle
from serving import bundle_loader
from tests.support.factories import bundle


def test_a_loaded_bundle_forecasts_exactly_as_the_original() -> None:
    original = bundle()
    loaded = bundle_loader.load(original.to_json().encode(), "demand", "1")
    ids = list(original.series)
    assert loaded.forecast(ids, 7, [80, 95]) == original.forecast(ids, 7, [80, 95])
    assert loaded.series["s0"].history_values == original.series["s0"].history_values


def test_repeated_dates_are_one_shared_list() -> None:
    compacted = bundle_loader.compact(ForecastBundle.from_json(bundle().to_json()))
    first, second = compacted.series["s0"], compacted.series["s1"]
    assert first.dates is second.dates and first.history_dates is second.history_dates


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"format_version": 1, "model_name": ', "JSONDecodeError"),
        (bundle(name="other").to_json().encode(), "is for model 'other'"),
        (bundle(mean=math.nan).to_json().encode(), "non-finite values for 's0'"),
        (bundle(series=0).to_json().encode(), "has no series"),
    ],
)
def test_a_bad_bundle_is_refused_with_the_reason(payload: bytes, fragment: str) -> None:
    with pytest.raises(bundle_loader.InvalidBundle, match="demand v7 is not servable") as error:
        bundle_loader.load(payload, "demand", "7")
    assert fragment in str(error.value)


def test_nothing_but_bundle_classes_can_be_unpickled() -> None:
    evil = pickle.dumps(print)
    with pytest.raises(pickle.UnpicklingError, match="not part of a forecast bundle"):
        bundle_loader._BundleUnpickler(io.BytesIO(evil)).load()


def test_smoke_test_checks_the_interval_order() -> None:
    broken = bundle()
    broken.series["s1"].sigma[3] = -5.0  # a negative spread puts yhat outside its band
    with pytest.raises(bundle_loader.InvalidBundle, match="yhat outside its interval for 's1'"):
        bundle_loader.smoke_test(broken, "demand", "1")
