"""Every portal page in Streamlit's AppTest, logged out, as a viewer, an engineer and an admin,
against the real API process (tests/conftest.py: MLflow server, trained demo, `astralytiq serve`
with the Prefect test server), through tests/support/portal_standin.py, which forwards every
request unless told to play an API without the pipelines and live-accuracy routes.

Prefect being down is a second real API process whose Prefect URL is a port where nothing
listens; the API being down is such a port too. An expired session is a real token past its
expiry, and a token the API refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from flows.outcomes import TrainOutcome
from portal.api_client import ApiClient, Session, SessionExpired
from portal.sandbox import sandboxed
from tests.conftest import Platform
from tests.support import REPO, free_port, wait_http
from tests.support.api_process import served_api
from tests.support.factories import champion_of, register, set_champion, variant
from tests.support.portal_standin import StandIn, serve

# AppTest drives the pages in-process, but against the real API and MLflow: not a quick unit test.

APP = str(REPO / "portal" / "app.py")
PAGES = {
    "forecasts": "Forecasts",
    "models": "Models",
    "health": "Model health",
    "pipelines": "Pipelines",
    "datasets": "Datasets",
    "data_quality": "Data quality",
    "admin": "Users and API keys",
    "account": "Your account",
}
SWAP_MODEL = "portal_demo"


@pytest.fixture(scope="module")
def portal_model(platform_env: Platform, trained_demo: TrainOutcome) -> dict[str, str]:
    """A model of its own (two versions, forecasts x1 and x2) for promote and rollback."""
    from registry.tracking import load_champion_bundle

    _, demo = load_champion_bundle(platform_env.tracking_uri, "nyc_flights")
    uri = platform_env.tracking_uri
    made = {
        "x1": register(uri, SWAP_MODEL, variant(demo, SWAP_MODEL, 1.0).to_json()),
        "x2": register(uri, SWAP_MODEL, variant(demo, SWAP_MODEL, 2.0).to_json()),
    }
    set_champion(uri, SWAP_MODEL, made["x1"])
    # Backtest scores as training logs them, so the two versions can be compared: x1 is better.
    from mlflow import MlflowClient

    mlflow_client = MlflowClient(uri)
    for version, mase, coverage in ((made["x1"], 0.91, 0.95), (made["x2"], 1.07, 0.88)):
        run_id = str(mlflow_client.get_model_version(SWAP_MODEL, version).run_id)
        mlflow_client.log_metric(run_id, "backtest_mase", mase)
        mlflow_client.log_metric(run_id, "backtest_coverage_95", coverage)
    return made


@pytest.fixture(scope="module")
def standin(api_server: str, portal_model: dict[str, str]) -> Iterator[StandIn]:
    wait_http(f"{api_server}/readyz", 30)
    with serve(StandIn(api_server)) as state:
        yield state


@pytest.fixture(autouse=True)
def standin_defaults(standin: StandIn) -> None:
    """Every test starts with the stand-in forwarding everything: the API as it is."""
    standin.without_routes = False


@pytest.fixture(scope="module")
def sessions(
    api_server: str, admin_credentials: tuple[str, str], engineer_credentials: tuple[str, str]
) -> dict[str, Session]:
    api = ApiClient(api_server)
    return {
        "admin": api.login(*admin_credentials),
        "engineer": api.login(*engineer_credentials),
        "viewer": api.login("viewer", "viewer-password-1"),
    }


def portal(api_url: str, monkeypatch: pytest.MonkeyPatch, session: Session | None = None) -> AppTest:
    monkeypatch.setenv("ASTRALYTIQ_API_URL", api_url)
    at = AppTest.from_file(APP, default_timeout=60)
    if session is not None:
        at.session_state["session"] = session
    at.run()
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.header if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(at: AppTest, name: str) -> list[dict[str, str]]:
    """The rows of the portal table ``name`` (portal/tables.py), as the page shows them."""
    marker = f'data-table="{name}"'
    found = [m.value for m in at.markdown if marker in str(m.value)]
    assert len(found) == 1, f"expected one table {name!r}, found {len(found)}"
    reader = _TableReader()
    reader.feed(found[0])
    return [dict(zip(reader.header, row, strict=True)) for row in reader.rows]


def texts(elements: Any) -> str:
    return " | ".join(str(e.value) for e in elements)


def wait_for_champion(api: ApiClient, model: str, version: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(m["name"] == model and m["serving_version"] == version for m in api.models()):
            return
        time.sleep(0.3)
    raise TimeoutError(f"{model} v{version} not served")


# --- logged out -----------------------------------------------------------------------------


def test_a_logged_out_visitor_sees_only_the_login_page(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = portal(standin.url, monkeypatch)
    assert at.title[0].value == "Welcome to AstralytiQ"
    assert [b.label for b in at.button] == ["Log in"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/forecasts.py")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_opened_directly_while_logged_out_asks_to_log_in(
    page: str, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASTRALYTIQ_API_URL", standin.url)
    at = AppTest.from_file(str(REPO / "portal" / "app_pages" / f"{page}.py"), default_timeout=30).run()
    assert "Please log in" in texts(at.info)
    assert not at.title and not at.error and not at.exception


def test_login_form_refuses_a_wrong_password_then_logs_in_and_out(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = portal(standin.url, monkeypatch)
    at.text_input[0].input("viewer")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert texts(at.error) == "Incorrect username or password."
    at.text_input[1].input("viewer-password-1")
    at.button[0].click().run()
    assert at.title[0].value == "Forecasts"
    assert "Signed in as **viewer** (viewer)" in texts(at.sidebar.caption)
    at.sidebar.button[0].click().run()  # log out
    assert at.title[0].value == "Welcome to AstralytiQ"
    assert "You have logged out." in texts(at.info)


@pytest.fixture(scope="module")
def strict_api(
    platform_env: Platform, admin_credentials: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An API process of its own that refuses a client after two failed logins, so the lockouts
    of the test below cannot reach the API the other tests share."""
    limits = {
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_CLIENT": "2",
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_ACCOUNT": "100",
        # As `astralytiq up` starts it: its portal, on loopback, is a trusted proxy.
        "ASTRALYTIQ_TRUSTED_PROXIES": "127.0.0.1,::1",
    }
    with served_api(platform_env, tmp_path_factory.mktemp("strict-api"), limits) as url:
        yield url


@pytest.fixture(scope="module")
def prefect_down_api(platform_env: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's API as it runs when its Prefect server is down: nothing listens there."""
    down = {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    with served_api(platform_env, tmp_path_factory.mktemp("prefect-down-api"), down) as url:
        yield url


@pytest.fixture
def train_deployment(api_server: str) -> Iterator[str]:
    """A real train/nyc_flights deployment on the session's Prefect server that no worker serves,
    so a run started through the API stays scheduled. Deleted afterwards with its runs: a later
    monitor run of the demo must not retrain through it."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.deployments.runner import RunnerDeployment

    from flows.train import train_flow

    deployment = train_flow.to_deployment(name="nyc_flights", parameters={"dataset": "nyc_flights"})
    assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not a coroutine
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, UUID)
    try:
        yield str(deployment_id)
    finally:
        with get_client(sync_client=True) as prefect:
            only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            # sort and limit given: this client sends None for them otherwise, which the server refuses
            runs = prefect.read_flow_runs(deployment_filter=only, sort=FlowRunSort.ID_DESC, limit=200)
            for run in runs:
                prefect.delete_flow_run(run.id)
            prefect.delete_deployment(deployment_id)


def poll_as_worker(deployment_id: str, timeout: float = 30.0) -> None:
    """Poll ``deployment_id`` for runs as a worker does, until the server records the poll."""
    import time
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as prefect:
        deadline = time.monotonic() + timeout
        while True:
            prefect.get_scheduled_flow_runs_for_deployments([UUID(deployment_id)])
            if prefect.read_deployment(UUID(deployment_id)).last_polled is not None:
                return
            assert time.monotonic() < deadline, "the Prefect server never recorded the poll"
            time.sleep(0.5)


def test_login_forwards_the_browsers_address_so_one_person_cannot_lock_out_the_rest(
    strict_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The login page sends the browser's address (st.context.ip_address) in X-Forwarded-For;
    the real API, which trusts its loopback peer (this portal) as `up` configures it, counts
    failures per browser.
    AppTest has no browser connection, so that one property is patched to name a browser."""
    import streamlit as st

    browser = {"address": "198.51.100.77"}
    monkeypatch.setattr(type(st.context), "ip_address", property(lambda _: browser["address"]))
    at = portal(strict_api, monkeypatch)
    for guess in ("not-the-password", "nor-this-one"):
        at.text_input[0].input("viewer")
        at.text_input[1].input(guess)
        at.button[0].click().run()
        assert texts(at.error) == "Incorrect username or password."
    at.text_input[1].input("viewer-password-1")
    at.button[0].click().run()
    assert "Too many failed logins: too many failed logins from this client" in texts(at.error)
    assert "Is the API running" not in texts(at.error)  # a refusal, not an outage
    # Another person, through the same portal, is not locked out; nor is the portal's own address.
    browser["address"] = "198.51.100.78"
    at.button[0].click().run()
    assert at.title[0].value == "Forecasts", texts(at.error)
    assert ApiClient(strict_api).login("viewer", "viewer-password-1").role == "viewer"


# --- every page, as each role ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "engineer", "admin"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_for_each_role(
    page: str, role: str, standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = portal(standin.url, monkeypatch, sessions[role])
    if page == "admin" and role != "admin":
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("app_pages/admin.py")  # not offered in the menu
        direct = AppTest.from_file(str(REPO / "portal" / "app_pages" / "admin.py"), default_timeout=30)
        direct.session_state["session"] = sessions[role]
        direct.run()
        assert f"This page needs the admin role; you are signed in as {role}." in texts(direct.warning)
        return
    open_page(at, page)
    assert at.title[0].value == PAGES[page]
    assert not at.error, texts(at.error)
    engineer_controls = {"models": "Promote", "pipelines": "Start training"}
    if page in engineer_controls:
        labels = [b.label for b in at.button]
        assert (engineer_controls[page] in labels) == (role != "viewer"), labels


# --- what each page shows ------------------------------------------------------------------


def test_forecasts_chart_table_and_download_for_a_chosen_series_and_horizon(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "forecasts")
    model_box, series_box = at.selectbox[0], at.selectbox[1]
    assert "nyc_flights" in model_box.options
    model_box.select("nyc_flights").run()
    series_box = at.selectbox[1]
    series_box.select("ORD").run()
    at.slider[0].set_value(7).run()
    at.multiselect[0].set_value([50, 90]).run()
    rows = table(at, "forecast")
    assert len(rows) == 7 and {r["series_id"] for r in rows} == {"ORD"}
    assert {"lower_50", "upper_50", "lower_90", "upper_90"} <= set(rows[0])
    for r in rows:
        low90, low50, high50, high90 = (
            float(r[c].replace(",", "")) for c in ("lower_90", "lower_50", "upper_50", "upper_90")
        )
        assert low90 <= low50 <= high50 <= high90
    assert len(at.get("plotly_chart")) == 2  # the forecast, and forecast vs actual below it
    download = at.get("download_button")[0]
    assert download.proto.label == "Download CSV"
    assert download.proto.url  # the CSV is in Streamlit's media store for the browser to fetch
    assert "Total over 7 steps" in [m.label for m in at.metric]


def chart_traces(at: AppTest, index: int) -> dict[str, dict[str, Any]]:
    """The traces of the page's ``index``-th Plotly chart by name, as sent to the browser."""
    import json

    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {str(trace.get("name")): trace for trace in spec["data"]}


def test_forecast_vs_actual_draws_the_actuals_that_arrived_after_the_forecast(
    standin: StandIn,
    sessions: dict[str, Session],
    trained_demo: TrainOutcome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "forecasts")
    at.selectbox[0].select("nyc_flights").run()
    at.selectbox[1].select("ORD").run()
    assert "Forecast vs actual" in texts(at.subheader)
    made = next(s for s in at.selectbox if s.label == "Forecast made")
    # The version as trained comes first: the session's monitor run published the served
    # snapshot (origin 2014-01-01), which is left out, as nothing has arrived after it.
    assert made.options[0] == f"v{trained_demo.version} as trained"
    assert not any("2014-01-01" in option for option in made.options)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Made from"] == "2013-12-04" and metrics["Actuals arrived"] == "28 of 28"
    assert metrics["WAPE"].endswith("%") and metrics["Inside the 80% band"].endswith("%")
    rows = table(at, "forecast_vs_actual")
    assert len(rows) == 28 and rows[0]["ds"] == "2013-12-04" and rows[-1]["ds"] == "2013-12-31"
    assert all(r["actual"] != "–" for r in rows)
    traces = chart_traces(at, 1)
    assert {"forecast", "80% interval", "actual (arrived)"} <= set(traces)
    assert traces["actual (arrived)"]["x"][0] == "2013-12-04" and len(traces["actual (arrived)"]["y"]) == 28
    # A wider band is asked of the API, not drawn from the narrower one.
    next(s for s in at.selectbox if s.label == "Interval (%)").select(95).run()
    assert "Inside the 95% band" in [m.label for m in at.metric]
    assert "95% interval" in chart_traces(at, 1)


def test_models_page_shows_a_series_backtest_windows_with_their_errors(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "models")
    at.selectbox[0].select("nyc_flights").run()
    assert "Backtest windows" in texts(at.subheader)
    at.selectbox(key="backtest_series").select("BOS").run()
    windows = table(at, "backtest_windows")
    assert windows and [w["window"] for w in windows] == [str(i + 1) for i in range(len(windows))]
    assert all(float(w["MASE"]) > 0 for w in windows) and windows[-1]["fitted to"] < "2013-12-03"
    traces = chart_traces(at, len(at.get("plotly_chart")) - 1)
    assert {"actual", "backtest forecast"} <= set(traces)
    assert traces["actual"]["x"][-1] == "2013-12-03"  # the newest window ends at the training cutoff
    # A model registered without a training run's windows says why there is nothing to show.
    at.selectbox[0].select(SWAP_MODEL).run()
    assert "trained before backtest windows were kept" in texts(at.warning)
    assert not at.error, texts(at.error)


def test_models_page_lists_versions_and_compares_two(
    standin: StandIn,
    sessions: dict[str, Session],
    portal_model: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "models")
    at.selectbox[0].select("nyc_flights").run()
    versions = table(at, "versions")
    assert any("champion" in v["aliases"] for v in versions)
    assert all(float(v["MASE"]) > 0 for v in versions)
    assert len(table(at, "selection")) == 24
    assert "Model chosen per series" in texts(at.subheader)
    assert "Engineers promote" in texts(at.caption)
    at.selectbox[0].select(SWAP_MODEL).run()
    assert "Compare two versions" in texts(at.subheader)
    comparison = table(at, "comparison")
    assert {"metric", f"v{portal_model['x1']}", f"v{portal_model['x2']}", "better"} <= set(comparison[0])
    by_metric = {row["metric"]: row for row in comparison}
    assert set(by_metric) == {"MASE", "coverage 95%"}
    assert by_metric["MASE"]["better"] == f"v{portal_model['x1']}"
    assert by_metric["coverage 95%"]["better"] == f"v{portal_model['x1']}"


def test_an_engineer_promotes_and_rolls_back_from_the_models_page(
    standin: StandIn,
    sessions: dict[str, Session],
    portal_model: dict[str, str],
    platform_env: Platform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["engineer"]), "models")
    at.selectbox[0].select(SWAP_MODEL).run()
    promote_form = at.get("form")[0]
    assert promote_form is not None
    version_box = next(s for s in at.selectbox if s.label == "Version to make champion")
    version_box.select(portal_model["x2"])
    at.text_input(key="promote_reason").input("portal test: x2 is the challenger")
    next(b for b in at.button if b.label == "Promote").click().run()
    assert f"v{portal_model['x2']} of {SWAP_MODEL} is the champion" in texts(at.success)
    assert champion_of(platform_env.tracking_uri, SWAP_MODEL) == portal_model["x2"]

    at.text_input(key="rollback_reason").input("portal test: back to x1")
    next(b for b in at.button if b.label == "Roll back").click().run()
    assert f"to v{portal_model['x1']}, now served" in texts(at.success)
    assert champion_of(platform_env.tracking_uri, SWAP_MODEL) == portal_model["x1"]

    # A reason is required: nothing moves without one.
    at.text_input(key="promote_reason").input("   ")
    next(b for b in at.button if b.label == "Promote").click().run()
    assert "Say why" in texts(at.warning)
    assert champion_of(platform_env.tracking_uri, SWAP_MODEL) == portal_model["x1"]


def test_health_shows_drift_live_accuracy_and_latency(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = ApiClient(standin.url, sessions["viewer"].token)
    api.forecast("nyc_flights", ["ATL"], 3, [80.0])
    newest = api.accuracy("nyc_flights")["points"][-1]  # the session's monitor run scored it
    assert newest["mase"] is not None and newest["wape"] is not None
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "health")
    at.selectbox[0].select("nyc_flights").run()
    labels = [m.label for m in at.metric]
    assert {"Drifted share", "Live MASE", "80% interval coverage", "Requests served"} <= set(labels)
    assert next(m for m in at.metric if m.label == "Live MASE").value == f"{newest['mase']:.3f}"
    assert next(m for m in at.metric if m.label == "Live WAPE").value == f"{newest['wape']:.1f}%"
    forecast_row = next(r for r in table(at, "latency") if r["route"] == "/v1/models/{name}/forecast")
    assert int(forecast_row["requests"]) >= 1 and float(forecast_row["p50 ms"]) > 0
    assert not at.get("iframe")  # the Evidently report loads only when asked for
    at.toggle(key="show_evidently").set_value(True).run()
    (report,) = at.get("iframe")
    latest = api.drift("nyc_flights")["latest"]
    assert latest is not None
    # The stored report, in a frame of its own without the portal's origin (portal/sandbox.py).
    assert report.proto.srcdoc == sandboxed(api.drift_report_html("nyc_flights", latest["id"]))
    assert '<iframe sandbox="allow-scripts allow-popups"' in report.proto.srcdoc


def test_health_lists_firing_alerts_escaped_and_drops_resolved_ones(
    standin: StandIn,
    sessions: dict[str, Session],
    platform_env: Platform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alerts as Alertmanager posts them to the API's receiver (its token is the one the API
    keeps in the data folder); a hostile model label shows as text, never as markup."""
    hostile = "<img src=x onerror=alert(1)>[click](javascript:alert(2))"
    token = (platform_env.data_dir / "alert_webhook_token").read_text().strip()

    def notify(status: str) -> None:
        alert = {
            "status": status,
            "labels": {"alertname": "ModelAccuracyDegraded", "model": hostile, "severity": "warning"},
            "annotations": {"summary": f"Live MASE of {hostile} is 2.00"},
            "startsAt": "2026-12-08T01:00:00Z",
            "endsAt": "2026-12-08T01:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "fingerprint": "badc0ffee0ddf00d",
        }
        body = {"version": "4", "status": status, "receiver": "astralytiq-api", "alerts": [alert]}
        answer = httpx.post(
            f"{standin.api_url}/v1/alerts/webhook", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text

    notify("firing")
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "health")
    row = next(r for r in table(at, "alerts") if r["alert"] == "ModelAccuracyDegraded")
    assert row["model"] == hostile and row["summary"] == f"Live MASE of {hostile} is 2.00"
    shown = next(str(m.value) for m in at.markdown if 'data-table="alerts"' in str(m.value))
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown

    notify("resolved")
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "health")
    if any('data-table="alerts"' in str(m.value) for m in at.markdown):  # others' alerts may fire
        assert all(r["model"] != hostile for r in table(at, "alerts"))
    else:
        assert "No alert is firing." in texts(at.success)


def test_health_says_live_accuracy_is_not_available_on_an_older_server(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    standin.without_routes = True
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "health")
    # Other tests register models of their own: pick the monitored demo, not the first name.
    at.selectbox[0].select("nyc_flights").run()
    assert "Live accuracy is not available on this server" in texts(at.info)
    assert "Drifted share" in [m.label for m in at.metric]  # the rest of the page still works
    assert not at.error


def test_pipelines_lists_runs_and_an_engineer_starts_training(
    standin: StandIn,
    sessions: dict[str, Session],
    train_deployment: str,
    prefect_down_api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = ApiClient(standin.url, sessions["engineer"].token)
    at = open_page(portal(standin.url, monkeypatch, sessions["engineer"]), "pipelines")
    listed = api.pipeline_runs(limit=20)  # the session's own flow runs on its Prefect server
    assert listed and [r["state"] for r in table(at, "runs")] == [r["state"] for r in listed]
    at.selectbox[0].select("nyc_flights")
    # No worker has polled the deployment: the trigger is refused with the reason, nothing queued.
    next(b for b in at.button if b.label == "Start training").click().run()
    assert "no worker is serving train/nyc_flights" in texts(at.error), texts(at.error)
    assert [r["id"] for r in api.pipeline_runs(limit=1)] == [r["id"] for r in listed[:1]]
    # A poll as a worker makes (Prefect's own call, /deployments/get_scheduled_flow_runs); this
    # stand-in never runs what it is given, so the run started below stays scheduled.
    poll_as_worker(train_deployment)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert "Training of nyc_flights started" in texts(at.success), texts(at.error)
    newest = api.pipeline_runs(limit=1)[0]
    assert newest["flow"] == "train" and newest["dataset"] == "nyc_flights"
    assert newest["id"] in texts(at.success) and newest["state"] == "SCHEDULED"  # no worker serves it
    assert table(at, "runs")[0]["state"] == "SCHEDULED"

    down = open_page(portal(prefect_down_api, monkeypatch, sessions["engineer"]), "pipelines")
    assert "no Prefect server reachable" in texts(down.error)  # the runs cannot be listed
    down.selectbox[0].select("nyc_flights")
    next(b for b in down.button if b.label == "Start training").click().run()
    assert texts(down.error).count("no Prefect server reachable") == 2, texts(down.error)
    assert api.pipeline_runs(limit=1)[0]["id"] == newest["id"]  # nothing was started


def test_pipelines_say_not_available_on_an_older_server(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    standin.without_routes = True
    at = open_page(portal(standin.url, monkeypatch, sessions["engineer"]), "pipelines")
    assert "Pipeline runs is not available on this server" in texts(at.info)
    assert not at.error


def test_pipelines_show_schedules_and_a_runs_log_and_an_engineer_pauses_cancels_and_retries(
    standin: StandIn, sessions: dict[str, Session], train_deployment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's Prefect server, a train/nyc_flights deployment on a weekly schedule that no
    worker runs: its schedule in words, paused from the page; a run's log line written by a
    hostile flow shown as text; the run cancelled, then retried as a new run."""
    from datetime import UTC, datetime

    from prefect.settings import PREFECT_API_URL

    prefect = str(PREFECT_API_URL.value())
    weekly = {"schedule": {"cron": "0 6 * * 1", "timezone": "UTC"}, "active": True}
    added = httpx.post(f"{prefect}/deployments/{train_deployment}/schedules", json=[weekly])
    assert added.status_code == 201, added.text
    poll_as_worker(train_deployment)  # so the trigger and the retry are taken as served
    api = ApiClient(standin.url, sessions["engineer"].token)
    started = api.train("nyc_flights")
    hostile = "<img src=x onerror=alert(1)> **bold** =cmd|' /C calc'!A0"
    line = {
        "name": "prefect.flow_runs",
        "level": 40,
        "message": hostile,
        "timestamp": datetime.now(UTC).isoformat(),
        "flow_run_id": started["flow_run_id"],
    }
    assert httpx.post(f"{prefect}/logs/", json=[line]).status_code == 201

    viewer = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "pipelines")
    shown = next(
        r for r in table(viewer, "schedules") if (r["dataset"], r["flow"]) == ("nyc_flights", "train")
    )
    assert shown["schedule"] == "weekly on Monday at 06:00 (UTC)" and shown["status"] == "active"
    assert not {"Pause schedule", "Cancel run", "Retry run"} & {b.label for b in viewer.button}

    at = open_page(portal(standin.url, monkeypatch, sessions["engineer"]), "pipelines")
    assert str(at.selectbox(key="run_pick").value).startswith(table(at, "runs")[0]["name"])  # the newest
    logs = table(at, "logs")
    assert [(r["level"], r["message"]) for r in logs] == [("ERROR", hostile)]  # text, not markup
    assert not [m for m in at.markdown if "<img src=x" in str(m.value)]

    at.selectbox(key="schedule_pick").select("train/nyc_flights").run()
    next(b for b in at.button if b.label == "Pause schedule").click().run()
    assert "Schedule of train/nyc_flights paused." in texts(at.success), texts(at.error)
    paused = next(r for r in table(at, "schedules") if (r["dataset"], r["flow"]) == ("nyc_flights", "train"))
    assert paused["status"] == "paused" and paused["next run (UTC)"] == "–"
    assert "Resume schedule" in {b.label for b in at.button}

    next(b for b in at.button if b.label == "Cancel run").click().run()
    assert "cancelled." in texts(at.success), texts(at.error)
    assert api.pipeline_runs(limit=1)[0]["state"] == "CANCELLED"
    next(b for b in at.button if b.label == "Retry run").click().run()
    assert "Retrying" in texts(at.success), texts(at.error)
    newest = api.pipeline_runs(limit=1)[0]
    assert newest["id"] != started["flow_run_id"] and newest["state"] == "SCHEDULED"
    assert newest["dataset"] == "nyc_flights" and newest["name"] in texts(at.success)


def test_data_quality_shows_the_training_runs_contract(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["viewer"]), "data_quality")
    checks = ApiClient(standin.url, sessions["viewer"].token).contract_reports()
    training_check = next(c for c in checks if c["dataset"] == "nyc_flights" and c["status"] == "passed")
    assert training_check["dataset"] in {r["dataset"] for r in table(at, "checks")}
    next(s for s in at.selectbox if s.label == "Report").select(training_check["run_id"]).run()
    assert next(m for m in at.metric if m.label == "Verdict").value == "passed"
    rules = table(at, "rules")
    assert len(rules) > 3 and {r["verdict"] for r in rules} == {"passed"}
    at.toggle(key="show_docs").set_value(True).run()
    (docs,) = at.get("iframe")
    assert "<html" in docs.proto.srcdoc.lower()
    assert '<iframe sandbox="allow-scripts allow-popups"' in docs.proto.srcdoc  # no allow-same-origin


def test_an_admin_adds_a_user_and_issues_and_revokes_a_key(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(portal(standin.url, monkeypatch, sessions["admin"]), "admin")
    name = f"portal-user-{free_port()}"
    at.text_input[0].input(name)
    at.text_input[1].input("a-long-passphrase")
    next(b for b in at.button if b.label == "Add").click().run()
    assert f"{name} can log in as viewer." in texts(at.success)
    assert name in {u["username"] for u in table(at, "users")}

    next(t for t in at.text_input if t.label == "Service name").input("portal-billing")
    next(b for b in at.button if b.label == "Issue").click().run()
    key = at.code[0].value
    assert key and "shown only once" in texts(at.warning)
    works = httpx.get(f"{standin.url}/v1/models/nyc_flights/series", headers={"X-API-Key": key})
    assert works.status_code == 200, works.text

    revoke_box = next(s for s in at.selectbox if s.label == "Key")
    revoke_box.select_index(
        next(i for i, o in enumerate(revoke_box.options) if o.startswith("portal-billing"))
    )
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert "is revoked" in texts(at.success)
    refused = httpx.get(f"{standin.url}/v1/models/nyc_flights/series", headers={"X-API-Key": key})
    assert refused.status_code == 401


def test_a_person_changes_their_password_on_their_account_page(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = ApiClient(standin.url, sessions["admin"].token)
    name = f"portal-pw-{free_port()}"
    admin.create_user(name, "first-passphrase-1", "viewer")
    session = ApiClient(standin.url).login(name, "first-passphrase-1")
    at = open_page(portal(standin.url, monkeypatch, session), "account")
    inputs = {t.label: t for t in at.text_input}
    inputs["Current password"].input("first-passphrase-1")
    inputs["New password"].input("second-passphrase-2")
    inputs["New password again"].input("second-passphrase-2")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert "Password changed" in texts(at.success), texts(at.error) + texts(at.warning)
    fresh = at.session_state["session"]
    assert fresh.token != session.token  # the old one no longer works; the page holds a new one
    with pytest.raises(SessionExpired):
        ApiClient(standin.url, session.token).models()
    assert ApiClient(standin.url, fresh.token).models() is not None
    ApiClient(standin.url).login(name, "second-passphrase-2")


def test_an_admin_resets_a_password_from_the_admin_page(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = ApiClient(standin.url, sessions["admin"].token)
    name = f"portal-reset-{free_port()}"
    admin.create_user(name, "forgotten-passphrase", "viewer")
    at = open_page(portal(standin.url, monkeypatch, sessions["admin"]), "admin")
    next(s for s in at.selectbox if s.key == "reset_who").select(name)
    next(t for t in at.text_input if t.label == "New password").input("set-by-admin-1")
    next(b for b in at.button if b.label == "Reset password").click().run()
    assert f"{name} has a new password" in texts(at.success), texts(at.warning)
    ApiClient(standin.url).login(name, "set-by-admin-1")


# --- when things go wrong ------------------------------------------------------------------


@pytest.mark.parametrize("page", ["forecasts", "models", "health", "pipelines", "data_quality"])
def test_the_api_being_down_is_said_plainly(
    page: str, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    at = open_page(portal(down, monkeypatch, sessions["viewer"]), page)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(f"The API at {down} is not reachable")


def test_an_expired_session_returns_to_login_with_a_notice(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    expired = replace(sessions["viewer"], expires_at=datetime.now(UTC) - timedelta(seconds=1))
    at = portal(standin.url, monkeypatch, expired)
    assert at.title[0].value == "Welcome to AstralytiQ"
    assert "Your session expired. Please log in again." in texts(at.info)


def test_a_session_about_to_end_says_so(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ending = replace(sessions["viewer"], expires_at=datetime.now(UTC) + timedelta(minutes=3))
    at = portal(standin.url, monkeypatch, ending)
    assert at.title[0].value == "Forecasts"
    assert "Your session ends in 3 min" in texts(at.sidebar.warning)


def test_a_token_the_api_refuses_returns_to_login_with_a_notice(
    standin: StandIn, sessions: dict[str, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The portal thinks the session is valid for an hour; the API no longer accepts the token.
    refused = replace(sessions["viewer"], token=sessions["viewer"].token[:-4] + "AAAA")
    at = portal(standin.url, monkeypatch, refused)
    assert at.title[0].value == "Welcome to AstralytiQ"
    assert "Your session has expired or is invalid" in texts(at.info)
    assert "session" not in at.session_state
