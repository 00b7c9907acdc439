"""The forecast endpoint's table shapes, through the real API over the trained demo: CSV and the
flat long JSON read into pandas as the same frame, with the numbers of the nested answer."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from flows.outcomes import TrainOutcome
from tests.conftest import Platform
from tests.support.factories import delete_model, register, set_champion

HOSTILE = "hostile_ids"
HOSTILE_IDS = ['=HYPERLINK("http://evil","x")', "+1+2", "-3", "@SUM(A1)", 'a,"b"\nc', "plain"]


@pytest.fixture(scope="module")
def headers(admin: dict[str, str]) -> dict[str, str]:
    return admin


def ask(client: TestClient, headers: dict[str, str], body: dict[str, object], accept: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"Accept": accept} if accept else {}
    return client.post("/v1/models/nyc_flights/forecast", json=body, headers={**headers, **extra})


def test_csv_and_long_json_read_into_the_same_frame_as_the_nested_answer(
    client: TestClient, headers: dict[str, str], trained_demo: TrainOutcome
) -> None:
    body = {"series_ids": ["ATL", "BOS"], "horizon": 14, "levels": [80, 97.5]}
    nested = ask(client, headers, body).json()
    as_long = ask(client, headers, {**body, "layout": "long"})
    as_csv = ask(client, headers, body, accept="text/csv")
    for response in (as_long, as_csv):
        assert response.status_code == 200, response.text
        assert response.headers["X-Model-Version"] == trained_demo.version
        # The origin is the first forecast date: 2013-12-04 after training, later once a monitor
        # run of this session has published a snapshot from December's actuals.
        assert (
            response.headers["X-Forecast-Origin"]
            == nested["origin"]
            == nested["forecasts"][0]["points"][0]["ds"]
        )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_long.headers["content-type"] == "application/json"

    frame = pd.DataFrame(as_long.json())  # as is: no normalising, no orient
    from_csv = pd.read_csv(io.BytesIO(as_csv.content), dtype={"model_version": str})
    columns = ["series_id", "ds", "yhat", "lo_80", "hi_80", "lo_97.5", "hi_97.5", "model_version", "origin"]
    assert list(frame.columns) == columns and list(from_csv.columns) == columns
    pd.testing.assert_frame_equal(frame, from_csv)
    assert len(frame) == 2 * 14 and set(frame["model_version"]) == {trained_demo.version}
    expected = [
        (f["series_id"], p["ds"], p["yhat"], *(b for i in p["intervals"] for b in (i["lower"], i["upper"])))
        for f in nested["forecasts"]
        for p in f["points"]
    ]
    got = list(frame[columns[:-2]].itertuples(index=False, name=None))
    assert got == expected


def test_history_rows_come_first_with_y_and_no_forecast(client: TestClient, headers: dict[str, str]) -> None:
    body = {"series_ids": ["ATL"], "horizon": 7, "levels": [80], "include_history": True, "layout": "long"}
    frame = pd.DataFrame(ask(client, headers, body).json())
    history, forecast = frame[frame["y"].notna()], frame[frame["y"].isna()]
    assert len(history) == 4 * 28 and len(forecast) == 7
    assert history["yhat"].isna().all() and forecast["yhat"].notna().all()
    assert history["ds"].max() < forecast["ds"].min() == frame["origin"].iloc[0]
    from_csv = pd.read_csv(
        io.BytesIO(ask(client, headers, body, accept="text/csv").content), dtype={"model_version": str}
    )
    pd.testing.assert_frame_equal(frame, from_csv)


def test_all_series_answers_every_series_of_the_model(client: TestClient, headers: dict[str, str]) -> None:
    listed = client.get("/v1/models/nyc_flights/series", headers=headers).json()
    frame = pd.DataFrame(ask(client, headers, {"all_series": True, "horizon": 3, "layout": "long"}).json())
    assert list(dict.fromkeys(frame["series_id"])) == listed and len(listed) == 24
    nested = ask(client, headers, {"all_series": True, "horizon": 3}).json()
    assert [f["series_id"] for f in nested["forecasts"]] == listed


@pytest.mark.parametrize(
    ("body", "accept", "status", "fragment"),
    [
        ({"horizon": 3}, None, 422, "name the series in series_ids or set all_series"),
        ({"series_ids": ["ATL"], "all_series": True, "horizon": 3}, None, 422, "one of the two"),
        ({"series_ids": ["ATL"], "horizon": 3, "layout": "wide"}, None, 422, "layout"),
        ({"series_ids": ["ATL"], "horizon": 3}, "application/xml", 406, "text/csv"),
        ({"series_ids": ["ATL"], "horizon": 3}, "text/csv;q=0, application/xml", 406, "application/json"),
    ],
)
def test_bad_shape_requests_say_why(
    client: TestClient,
    headers: dict[str, str],
    body: dict[str, object],
    accept: str | None,
    status: int,
    fragment: str,
) -> None:
    response = ask(client, headers, body, accept)
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_accept_prefers_by_quality_and_defaults_to_json(client: TestClient, headers: dict[str, str]) -> None:
    body = {"series_ids": ["ATL"], "horizon": 2}
    for accept, expected in [
        ("*/*", "application/json"),
        ("text/csv;q=0.9, application/json", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("text/*", "text/csv"),
    ]:
        assert ask(client, headers, body, accept).headers["content-type"].startswith(expected), accept


@pytest.fixture(scope="module")
def hostile_model(platform_env: Platform, client: TestClient, headers: dict[str, str]) -> Iterator[str]:
    from tests.support.factories import bundle

    made = bundle(HOSTILE, series=len(HOSTILE_IDS))
    series = {
        hostile: dataclasses.replace(entry, series_id=hostile)
        for hostile, entry in zip(HOSTILE_IDS, made.series.values(), strict=True)
    }
    version = register(platform_env.tracking_uri, HOSTILE, dataclasses.replace(made, series=series).to_json())
    set_champion(platform_env.tracking_uri, HOSTILE, version)
    deadline = time.monotonic() + 60
    while client.get("/readyz", headers=headers).json().get("models", {}).get(HOSTILE) != version:
        assert time.monotonic() < deadline, "the hostile-id model was never served"
        time.sleep(0.2)
    yield version
    delete_model(platform_env.tracking_uri, HOSTILE)  # the session's other tests list its models


def test_csv_defuses_formula_series_ids_and_keeps_the_rest_intact(
    client: TestClient, headers: dict[str, str], hostile_model: str
) -> None:
    response = client.post(
        f"/v1/models/{HOSTILE}/forecast",
        json={"all_series": True, "horizon": 2, "levels": [80]},
        headers={**headers, "Accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    frame = pd.read_csv(io.BytesIO(response.content), dtype={"series_id": str, "model_version": str})
    shown = list(dict.fromkeys(frame["series_id"]))
    # A spreadsheet reads each as text: formula starts get an apostrophe, the rest is unchanged
    # (commas, quotes and line breaks are quoted, not split into cells or rows).
    assert shown == ["'" + s if s[0] in "=+-@" else s for s in HOSTILE_IDS]
    assert len(frame) == 2 * len(HOSTILE_IDS)
    for line in response.text.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@"))
        assert not line.startswith('"') or line[1] not in "=+-@"
    # JSON needs no defusing: the long layout gives the ids as they are.
    as_json = client.post(
        f"/v1/models/{HOSTILE}/forecast",
        json={"all_series": True, "horizon": 2, "levels": [80], "layout": "long"},
        headers=headers,
    ).json()
    assert list(dict.fromkeys(row["series_id"] for row in as_json)) == HOSTILE_IDS
