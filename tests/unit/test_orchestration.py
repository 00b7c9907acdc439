"""Pieces of the orchestration that need no server: the per-series task, run records, names."""

from __future__ import annotations

from flows.retrain import deployment_name
from flows.train import train_chunk
from models.engine import train_series
from models.frame import iter_series
from orchestration.prefect_api import PrefectAPI
from tests.support.factories import SMALL_CONFIG, synthetic_frame


def test_train_chunk_is_train_series_on_each_series() -> None:
    series = list(iter_series(synthetic_frame(2), "D"))
    outcomes = train_chunk.fn(series, SMALL_CONFIG)
    assert [o.series_id for o in outcomes] == ["s0", "s1"]
    assert outcomes[1].forecast.mean == train_series(series[1], SMALL_CONFIG).forecast.mean


def test_flow_run_record_from_the_prefect_api() -> None:
    payload = {
        "id": "7d3c",
        "name": "brave-otter",
        "flow_id": "f1",
        "parameters": {"dataset": "nyc_flights"},
        "state": {"type": "COMPLETED", "name": "Completed", "message": "All states completed."},
        "start_time": "2026-11-26T10:00:00+00:00",
        "end_time": "2026-11-26T10:01:30+00:00",
        "total_run_time": 88.5,
    }
    run = PrefectAPI._flow_run(payload, {"f1": "train"})
    assert (run.flow, run.dataset, run.state, run.state_name) == (
        "train",
        "nyc_flights",
        "COMPLETED",
        "Completed",
    )
    assert run.duration_seconds == 88.5
    scheduled = PrefectAPI._flow_run(
        {"id": "x", "flow_id": "f2", "parameters": {}, "state": {"type": "SCHEDULED", "name": "Late"}}, {}
    )
    assert scheduled.duration_seconds is None and scheduled.dataset is None and scheduled.state_name == "Late"


def test_a_spec_given_by_path_has_no_deployment() -> None:
    assert deployment_name("nyc_flights") == "nyc_flights"
    assert deployment_name("/data/specs/nyc_flights.yaml") is None
    assert deployment_name("nyc_flights.yaml") is None


def test_worker_silence_is_the_time_since_the_last_poll() -> None:
    from datetime import UTC, datetime

    from orchestration.prefect_api import worker_silence

    now = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)
    assert worker_silence({"last_polled": None}, now) is None  # never served
    assert worker_silence({}, now) is None
    assert worker_silence({"last_polled": "2026-12-07T12:00:00Z"}, now) == 30.0
    assert worker_silence({"last_polled": "2026-12-07T12:00:00.000000+00:00"}, now) == 30.0
    assert worker_silence({"last_polled": "2026-12-07T11:58:30"}, now) == 120.0  # naive: UTC
