"""The portal's only way to the platform: a typed client of the prediction API.

Every failure becomes one of four exceptions whose message is fit to show a person; pages never
see httpx. Routes added by later versions of the API answer 404 "Not Found" on an older server:
that becomes ``RouteMissing`` so a page can say the feature is not available there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

import httpx

from portal.api_types import (
    AccuracyHistoryOut,
    AlertsOut,
    ApiKeyIssued,
    ApiKeyOut,
    BacktestOut,
    ChampionChange,
    ContractReportOut,
    ContractRunOut,
    DatasetOut,
    DatasetSubmitted,
    DriftHistoryOut,
    ForecastResponse,
    ForecastVsActualOut,
    ModelDetail,
    ModelSummary,
    PipelineRun,
    PipelineSchedule,
    RunLogs,
    SnapshotOut,
    TrainTriggered,
    UserOut,
)


class ApiUnavailable(RuntimeError):
    """The API cannot be reached or failed; the message is fit to show a person."""


class ApiUnreachable(ApiUnavailable):
    """Nothing answers at the API's address (refused, timed out, name not found)."""


class SessionExpired(RuntimeError):
    """The token was refused: the person must log in again."""


class ApiRejected(RuntimeError):
    """The API refused the request (4xx); the message is its explanation."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class RouteMissing(ApiRejected):
    """This API has no such route (an older server than the portal); the message is the route."""


# FastAPI's answer for a path no route matches; a route's own 404 names what is missing.
_NO_ROUTE = "Not Found"


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    role: str
    expires_at: datetime

    def can(self, role: str) -> bool:
        """Whether this person holds ``role`` or a higher one (viewer < engineer < admin)."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


ROLE_RANK = {"viewer": 1, "engineer": 2, "admin": 3}


def _detail(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            return response.text.strip()
        if isinstance(detail, list):  # a 422 from validation: name the fields
            return "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail)
        return str(detail)
    return response.text.strip()


def _session(body: dict[str, Any], typed: str) -> Session:
    # The account's own spelling of its name (a login may type it in another case).
    return Session(
        body["access_token"],
        body.get("username", typed),
        body["role"],
        datetime.fromisoformat(body["expires_at"]),
    )


def _seg(value: str) -> str:
    """A path segment: a model name or username is never read as more path."""
    return quote(value, safe="")


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnreachable(
                f"The API at {self.base_url} is not reachable ({exc.__class__.__name__})."
            ) from None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            raise SessionExpired("Your session has expired or is invalid. Please log in again.")
        if response.status_code >= 500:
            detail = _detail(response) if response.status_code == 503 else ""
            reason = f": {detail}" if detail else f" ({response.status_code}). Try again in a moment."
            raise ApiUnavailable(f"The API could not answer{reason}")
        if response.status_code == 404 and _detail(response) == _NO_ROUTE:
            raise RouteMissing(f"{method} {path.split('?')[0]}", 404)
        if response.status_code >= 400:
            raise ApiRejected(_detail(response), response.status_code)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    # --- who is asking -------------------------------------------------------------------
    def login(self, username: str, password: str, browser_address: str | None = None) -> Session:
        """``browser_address``: where the person is (the portal forwards it in X-Forwarded-For, so
        the API throttles failed logins per person rather than per portal)."""
        headers = {"X-Forwarded-For": browser_address} if browser_address else {}
        response = self._send(
            "POST", "/v1/auth/token", data={"username": username, "password": password}, headers=headers
        )
        if response.status_code == 401:
            raise ApiRejected("Incorrect username or password.", 401)
        if response.status_code == 429:  # the throttle says how long to wait; the API is fine
            raise ApiRejected(f"Too many failed logins: {_detail(response)}.", 429)
        if response.status_code >= 400:
            raise ApiUnavailable(f"Login failed ({response.status_code}): {_detail(response)}")
        return _session(response.json(), username)

    def change_password(self, username: str, current: str, new: str) -> Session:
        """Change the logged-in person's password; the answer is a fresh session (every token
        issued before, this one included, stops working)."""
        body = {"current_password": current, "new_password": new}
        return _session(cast(dict[str, Any], self._call("POST", "/v1/auth/password", json=body)), username)

    def ready(self) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], self._http.get("/readyz").json())
        except (httpx.HTTPError, ValueError):
            return {"status": "unreachable"}

    # --- models and forecasts ------------------------------------------------------------
    def models(self) -> list[ModelSummary]:
        return cast(list[ModelSummary], self._call("GET", "/v1/models"))

    def model(self, name: str) -> ModelDetail:
        return cast(ModelDetail, self._call("GET", f"/v1/models/{_seg(name)}"))

    def series(self, model: str) -> list[str]:
        return cast(list[str], self._call("GET", f"/v1/models/{_seg(model)}/series"))

    def forecast(
        self, model: str, series_ids: list[str], horizon: int, levels: list[float]
    ) -> ForecastResponse:
        body = {"series_ids": series_ids, "horizon": horizon, "levels": levels, "include_history": True}
        return cast(ForecastResponse, self._call("POST", f"/v1/models/{_seg(model)}/forecast", json=body))

    def snapshots(self, model: str, limit: int = 20) -> list[SnapshotOut]:
        """The model's published forecast snapshots, newest first."""
        path = f"/v1/models/{_seg(model)}/snapshots"
        return cast(list[SnapshotOut], self._call("GET", path, params={"limit": limit}))

    def forecast_vs_actual(
        self, model: str, series_id: str, snapshot_id: int | None, level: float
    ) -> ForecastVsActualOut:
        """A forecast made earlier (``snapshot_id``; None: the served version as trained) with the
        actuals that arrived after its origin. The series id travels as a query value, encoded."""
        params: dict[str, str | int | float] = {"series_id": series_id, "level": level}
        if snapshot_id is not None:
            params["snapshot_id"] = snapshot_id
        path = f"/v1/models/{_seg(model)}/forecast-vs-actual"
        return cast(ForecastVsActualOut, self._call("GET", path, params=params))

    def backtest(self, model: str, series_id: str, version: str | None = None) -> BacktestOut:
        """One series' backtest windows (default: of the served version)."""
        params = {"series_id": series_id, **({"version": version} if version else {})}
        return cast(BacktestOut, self._call("GET", f"/v1/models/{_seg(model)}/backtest", params=params))

    def promote(self, model: str, version: str, reason: str) -> ChampionChange:
        body = {"version": version, "reason": reason}
        return cast(ChampionChange, self._call("POST", f"/v1/models/{_seg(model)}/promote", json=body))

    def rollback(self, model: str, reason: str, version: str | None = None) -> ChampionChange:
        body = {"version": version, "reason": reason}
        return cast(ChampionChange, self._call("POST", f"/v1/models/{_seg(model)}/rollback", json=body))

    # --- health --------------------------------------------------------------------------
    def drift(self, model: str) -> DriftHistoryOut:
        return cast(DriftHistoryOut, self._call("GET", f"/v1/models/{_seg(model)}/drift"))

    def firing_alerts(self) -> AlertsOut:
        """Alerts Alertmanager reported as firing (RouteMissing on servers without the receiver)."""
        return cast(AlertsOut, self._call("GET", "/v1/alerts"))

    def drift_report_html(self, model: str, report_id: int) -> str:
        return cast(str, self._call("GET", f"/v1/models/{_seg(model)}/drift/{report_id}/html"))

    def accuracy(self, model: str) -> AccuracyHistoryOut:
        """Live accuracy of served forecasts (issue 7's route; RouteMissing on older servers)."""
        return cast(AccuracyHistoryOut, self._call("GET", f"/v1/models/{_seg(model)}/accuracy"))

    def metrics_text(self) -> str:
        """The API's own Prometheus exposition (/metrics): latency and request counters."""
        return cast(str, self._call("GET", "/metrics"))

    # --- pipelines (issue 6's routes; RouteMissing on older servers) ---------------------
    def pipeline_runs(self, limit: int = 20) -> list[PipelineRun]:
        return cast(list[PipelineRun], self._call("GET", "/v1/pipelines/runs", params={"limit": limit}))

    def train(self, dataset: str) -> TrainTriggered:
        return cast(TrainTriggered, self._call("POST", "/v1/pipelines/train", json={"dataset": dataset}))

    def run_logs(self, run_id: str, offset: int = 0, limit: int = 200) -> RunLogs:
        params = {"offset": offset, "limit": limit}
        return cast(RunLogs, self._call("GET", f"/v1/pipelines/runs/{_seg(run_id)}/logs", params=params))

    def cancel_run(self, run_id: str) -> PipelineRun:
        return cast(PipelineRun, self._call("POST", f"/v1/pipelines/runs/{_seg(run_id)}/cancel"))

    def retry_run(self, run_id: str) -> PipelineRun:
        return cast(PipelineRun, self._call("POST", f"/v1/pipelines/runs/{_seg(run_id)}/retry"))

    def schedules(self) -> list[PipelineSchedule]:
        return cast(list[PipelineSchedule], self._call("GET", "/v1/pipelines/schedules"))

    def set_schedule_paused(self, flow: str, dataset: str, paused: bool) -> PipelineSchedule:
        action = "pause" if paused else "resume"
        path = f"/v1/pipelines/schedules/{_seg(flow)}/{_seg(dataset)}/{action}"
        return cast(PipelineSchedule, self._call("POST", path))

    # --- datasets ------------------------------------------------------------------------
    def datasets(self) -> list[DatasetOut]:
        return cast(list[DatasetOut], self._call("GET", "/v1/datasets"))

    def add_dataset(
        self, name: str, filename: str, content: bytes, fields: dict[str, str]
    ) -> DatasetSubmitted:
        """Upload a dataset's data; fields left empty are proposed from the data by the check."""
        form = {"name": name, **{key: value for key, value in fields.items() if value}}
        files = {"file": (filename, content, "application/octet-stream")}
        return cast(DatasetSubmitted, self._call("POST", "/v1/datasets", data=form, files=files))

    # --- data contracts ------------------------------------------------------------------
    def contract_reports(self, limit: int = 50) -> list[ContractRunOut]:
        return cast(list[ContractRunOut], self._call("GET", "/v1/contracts/reports", params={"limit": limit}))

    def contract_report(self, run_id: str) -> ContractReportOut:
        return cast(ContractReportOut, self._call("GET", f"/v1/contracts/reports/{_seg(run_id)}"))

    def contract_docs_html(self, docs_url: str) -> str:
        """A Data Docs page the API links from a report (``docs_url``, a path on this API)."""
        if not docs_url.startswith("/v1/contracts/reports/"):
            raise ApiRejected(f"not a Data Docs link of this API: {docs_url}")
        return cast(str, self._call("GET", docs_url))

    # --- administration ------------------------------------------------------------------
    def users(self) -> list[UserOut]:
        return cast(list[UserOut], self._call("GET", "/v1/admin/users"))

    def create_user(self, username: str, password: str, role: str) -> UserOut:
        body = {"username": username, "password": password, "role": role}
        return cast(UserOut, self._call("POST", "/v1/admin/users", json=body))

    def update_user(self, username: str, role: str | None = None, active: bool | None = None) -> UserOut:
        body = {k: v for k, v in (("role", role), ("active", active)) if v is not None}
        return cast(UserOut, self._call("PATCH", f"/v1/admin/users/{_seg(username)}", json=body))

    def reset_password(self, username: str, password: str) -> UserOut:
        """An admin sets someone's password; their sessions end."""
        body = {"password": password}
        return cast(UserOut, self._call("POST", f"/v1/admin/users/{_seg(username)}/password", json=body))

    def api_keys(self) -> list[ApiKeyOut]:
        return cast(list[ApiKeyOut], self._call("GET", "/v1/admin/api-keys"))

    def issue_api_key(
        self, name: str, role: str, models: list[str], expires_in_days: int | None
    ) -> ApiKeyIssued:
        body = {"name": name, "role": role, "models": models, "expires_in_days": expires_in_days}
        return cast(ApiKeyIssued, self._call("POST", "/v1/admin/api-keys", json=body))

    def revoke_api_key(self, key_id: int) -> ApiKeyOut:
        return cast(ApiKeyOut, self._call("DELETE", f"/v1/admin/api-keys/{key_id}"))
